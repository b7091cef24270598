//! What the fraud answer does to an order, and the disposition the caller
//! sees.

use allot_engine::allocation::outcome::AllocationOutcome;
use allot_models::risk::RiskDecision;

use crate::config::ReviewPolicy;

/// What the fraud answer does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Not held (approved, or not scored).
    None,
    /// REJECT: held, nothing reserved.
    Fraud,
    /// REVIEW: held for a person; reserved or not by policy.
    Review,
}

/// The hold for a fraud decision, and whether the plan may be reserved.
pub fn hold_for(decision: Option<RiskDecision>, review: ReviewPolicy) -> (Hold, bool) {
    match decision {
        None | Some(RiskDecision::Approve) => (Hold::None, true),
        Some(RiskDecision::Reject) => (Hold::Fraud, false),
        Some(RiskDecision::Review) => (Hold::Review, review == ReviewPolicy::Reserve),
    }
}

/// What happens to the order as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Every unit is allocated.
    Allocated,
    /// Some units are backordered.
    PartiallyBackordered,
    /// Every unit is backordered.
    Backordered,
    /// No plan exists (and backorders are not allowed).
    Unfulfillable,
    /// Held for fraud (REJECT).
    HeldFraud,
    /// Held for review (REVIEW).
    HeldReview,
}

impl Disposition {
    /// The disposition of a plan before any hold.
    pub fn of_plan(outcome: &AllocationOutcome) -> Disposition {
        let backordered: u32 = outcome.lines.iter().map(|l| l.backordered).sum();
        let ordered: u32 = outcome.lines.iter().map(|l| l.quantity).sum();
        if outcome.unfulfillable {
            Disposition::Unfulfillable
        } else if backordered == ordered {
            Disposition::Backordered
        } else if backordered > 0 {
            Disposition::PartiallyBackordered
        } else {
            Disposition::Allocated
        }
    }

    /// The disposition of a plan under a hold: HELD_FRAUD always wins,
    /// HELD_REVIEW unless no plan exists (UNFULFILLABLE: there is nothing
    /// to hold).
    pub fn under(self, hold: Hold) -> Disposition {
        match hold {
            Hold::None => self,
            Hold::Fraud => Disposition::HeldFraud,
            Hold::Review if self == Disposition::Unfulfillable => self,
            Hold::Review => Disposition::HeldReview,
        }
    }

    /// Lower-case name (metrics labels, event summaries).
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Allocated => "allocated",
            Disposition::PartiallyBackordered => "partially_backordered",
            Disposition::Backordered => "backordered",
            Disposition::Unfulfillable => "unfulfillable",
            Disposition::HeldFraud => "held_fraud",
            Disposition::HeldReview => "held_review",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Disposition as D;

    #[test]
    fn reject_holds_without_reserving_and_review_follows_the_policy() {
        assert_eq!(hold_for(None, ReviewPolicy::Hold), (Hold::None, true));
        assert_eq!(
            hold_for(Some(RiskDecision::Approve), ReviewPolicy::Hold),
            (Hold::None, true)
        );
        for policy in [ReviewPolicy::Reserve, ReviewPolicy::Hold] {
            assert_eq!(
                hold_for(Some(RiskDecision::Reject), policy),
                (Hold::Fraud, false)
            );
        }
        assert_eq!(
            hold_for(Some(RiskDecision::Review), ReviewPolicy::Reserve),
            (Hold::Review, true)
        );
        assert_eq!(
            hold_for(Some(RiskDecision::Review), ReviewPolicy::Hold),
            (Hold::Review, false)
        );
    }

    #[test]
    fn fraud_wins_over_every_plan_and_review_over_every_plan_but_none() {
        for plan in [
            D::Allocated,
            D::PartiallyBackordered,
            D::Backordered,
            D::Unfulfillable,
        ] {
            assert_eq!(plan.under(Hold::None), plan);
            assert_eq!(plan.under(Hold::Fraud), D::HeldFraud);
        }
        assert_eq!(D::Allocated.under(Hold::Review), D::HeldReview);
        assert_eq!(D::Backordered.under(Hold::Review), D::HeldReview);
        assert_eq!(D::Unfulfillable.under(Hold::Review), D::Unfulfillable);
    }
}
