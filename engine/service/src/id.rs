//! Decision ids: `dec_` and a ULID, minted in one place.

use std::fmt;

use allot_engine::decisions::decision_key;

use crate::error::ServiceError;

/// The id of one decision: `dec_` and a ULID, so ids sort by the time they
/// were minted and the decision log can key and find them by millisecond.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionId(String);

impl DecisionId {
    /// A fresh id.
    pub fn mint() -> DecisionId {
        DecisionId(format!("dec_{}", ulid::Ulid::new()))
    }

    /// Parses a caller's id (a ULID, with or without `dec_`); `field` names
    /// it in the error.
    pub fn parse(id: &str, field: &str) -> Result<DecisionId, ServiceError> {
        if id.is_empty() {
            return Err(ServiceError::invalid(
                field,
                "required: a decision id as a response returned it (dec_ and a ULID)",
            ));
        }
        if decision_key(id).is_none() {
            return Err(ServiceError::invalid(
                field,
                format!("{id:?} is not a decision id (dec_ and a ULID)"),
            ));
        }
        Ok(DecisionId(id.to_string()))
    }

    /// The id as text, as the caller sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decision log's key of this id.
    pub fn key(&self) -> u128 {
        // Every DecisionId is minted or parsed as a ULID.
        decision_key(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DecisionId> for String {
    fn from(id: DecisionId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_parse_back_to_their_key_and_bad_ids_name_the_field() {
        let id = DecisionId::mint();
        assert!(id.as_str().starts_with("dec_"));
        let parsed = DecisionId::parse(id.as_str(), "decision_id").unwrap();
        assert_eq!(parsed.key(), id.key());
        let bare = DecisionId::parse(&id.as_str()[4..], "decision_id").unwrap();
        assert_eq!(bare.key(), id.key());
        let e = DecisionId::parse("nope", "decision_id").unwrap_err();
        assert!(e.to_string().starts_with("decision_id: "), "{e}");
        let e = DecisionId::parse("", "decision_id").unwrap_err();
        assert!(e.to_string().starts_with("decision_id: required: "), "{e}");
    }
}
