//! What subjects, filters and message ids the bus accepts.

use crate::BusError;

/// Checks a subject relative to the prefix (or the prefix itself): tokens
/// separated by `.`, none empty, no whitespace or control characters. With
/// `wildcards`, a token may be `*` (any one token) and the last may be `>`
/// (one or more tokens); otherwise `*` and `>` are refused anywhere.
pub(crate) fn check(subject: &str, wildcards: bool) -> Result<(), &'static str> {
    if subject.is_empty() {
        return Err("a subject must not be empty");
    }
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a subject must not contain whitespace or control characters");
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(
                "a subject must not have an empty token (a leading, trailing or doubled '.')",
            );
        }
        let wildcard = *token == "*" || (*token == ">" && i == tokens.len() - 1);
        if token.contains(['*', '>']) && !(wildcards && wildcard) {
            return Err(if wildcards {
                "'*' must be a whole token and '>' the whole last token"
            } else {
                "a subject to publish to must not contain '*' or '>'"
            });
        }
    }
    Ok(())
}

/// Checks a message id: not empty (an empty id would turn de-duplication
/// off) and no control characters (it travels in a header).
pub(crate) fn check_msg_id(msg_id: &str) -> Result<(), BusError> {
    let reason = if msg_id.is_empty() {
        "a message id must not be empty"
    } else if msg_id.chars().any(char::is_control) {
        "a message id must not contain control characters"
    } else {
        return Ok(());
    };
    Err(BusError::InvalidMsgId {
        msg_id: msg_id.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_to_publish_to() {
        for ok in ["orders", "orders.created", "stock.node-7.sku_1"] {
            assert_eq!(check(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "", ".", "a.", ".a", "a..b", "a b", "a\tb", "a.*", "a.>", "*", ">", "a*", "a.b>",
        ] {
            assert!(check(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn filters_to_follow() {
        for ok in ["orders", "orders.>", ">", "*.created", "orders.*.x.>"] {
            assert_eq!(check(ok, true), Ok(()), "{ok}");
        }
        for bad in ["", "a.>.b", "a*.b", "a.b>", ">.a", "a..>", "a >"] {
            assert!(check(bad, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn message_ids() {
        check_msg_id("order-1:v2").unwrap();
        assert!(check_msg_id("").is_err());
        assert!(check_msg_id("a\r\nb").is_err());
    }
}
