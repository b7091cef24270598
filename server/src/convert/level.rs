//! Service levels both ways.

use allot_engine::network::ServiceLevel;
use allot_proto::v1 as pb;
use allot_service::ServiceError;

/// A service level as proto.
pub(crate) fn to_proto(level: ServiceLevel) -> pb::ServiceLevel {
    match level {
        ServiceLevel::SameDay => pb::ServiceLevel::SameDay,
        ServiceLevel::Overnight => pb::ServiceLevel::Overnight,
        ServiceLevel::TwoDay => pb::ServiceLevel::TwoDay,
        ServiceLevel::Ground => pb::ServiceLevel::Ground,
    }
}

/// A service level from the wire; `None` for UNSPECIFIED; `field` names an
/// unknown value in the error.
pub(crate) fn from_proto(level: i32, field: &str) -> Result<Option<ServiceLevel>, ServiceError> {
    match pb::ServiceLevel::try_from(level) {
        Ok(pb::ServiceLevel::Unspecified) => Ok(None),
        Ok(pb::ServiceLevel::Ground) => Ok(Some(ServiceLevel::Ground)),
        Ok(pb::ServiceLevel::TwoDay) => Ok(Some(ServiceLevel::TwoDay)),
        Ok(pb::ServiceLevel::Overnight) => Ok(Some(ServiceLevel::Overnight)),
        Ok(pb::ServiceLevel::SameDay) => Ok(Some(ServiceLevel::SameDay)),
        Err(_) => Err(ServiceError::invalid(
            field,
            format!(
                "unknown service level {level}; known are 1 (SAME_DAY), 2 (OVERNIGHT), 3 (TWO_DAY) and 4 (GROUND)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_round_trips_and_unknown_values_name_the_field() {
        for level in [
            ServiceLevel::SameDay,
            ServiceLevel::Overnight,
            ServiceLevel::TwoDay,
            ServiceLevel::Ground,
        ] {
            assert_eq!(
                from_proto(to_proto(level) as i32, "service_level").unwrap(),
                Some(level)
            );
        }
        assert_eq!(from_proto(0, "service_level").unwrap(), None);
        let e = from_proto(99, "options[0].service_level").unwrap_err();
        assert!(
            e.to_string().starts_with("options[0].service_level: "),
            "{e}"
        );
    }
}
