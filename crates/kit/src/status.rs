//! One status-machine type for every context. A context declares its statuses (each with
//! the name stored and shown) and the moves between them with [`crate::status_machine!`];
//! [`Machine`] then answers whether a move is allowed, refuses one naming both states (a
//! 409), lists where a status may be reached from, and reads a status back from its name.

use std::fmt;

/// A status enum declared with [`crate::status_machine!`].
pub trait Machine: Copy + Eq + fmt::Debug + fmt::Display + Sized + 'static {
    /// Every status, in declaration order.
    const ALL: &'static [Self];
    /// The moves the machine allows, as (from, to). Staying put is a move only where
    /// declared (a partly refunded payment may be partly refunded again).
    const MOVES: &'static [(Self, Self)];
    /// What moves, as a refusal names it ("an order").
    const SUBJECT: &'static str;

    /// The name stored and shown, e.g. `in_transit`.
    fn as_str(self) -> &'static str;

    /// The status named `name`, as [`Machine::as_str`] spells it.
    fn parse(name: &str) -> Option<Self> {
        <Self as Machine>::ALL
            .iter()
            .copied()
            .find(|status| Machine::as_str(*status) == name)
    }

    /// The status a store holds as `name`; a name no status has is a database error
    /// (the store holds what no code of ours wrote).
    fn stored(name: &str) -> Result<Self, crate::db::DbError> {
        <Self as Machine>::parse(name).ok_or_else(|| {
            crate::db::DbError::Other(format!(
                "stored status {name:?} of {} is unknown",
                Self::SUBJECT
            ))
        })
    }

    /// Whether the machine lets `self` move to `next`.
    fn can_become(self, next: Self) -> bool {
        Self::MOVES.contains(&(self, next))
    }

    /// `Ok` when the machine allows `self → next`, else the refused move.
    fn check(self, next: Self) -> Result<(), IllegalTransition<Self>> {
        if self.can_become(next) {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }

    /// The statuses from which the machine reaches `next`.
    fn sources_of(next: Self) -> Vec<Self> {
        <Self as Machine>::ALL
            .iter()
            .copied()
            .filter(|status| status.can_become(next))
            .collect()
    }

    /// No move leaves this status.
    fn is_final(self) -> bool {
        !Self::MOVES.iter().any(|(from, _)| *from == self)
    }

    /// Every name, for a message listing what is accepted.
    fn names() -> String {
        <Self as Machine>::ALL
            .iter()
            .map(|status| Machine::as_str(*status))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A move the machine does not allow (a 409), naming both states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition<S> {
    pub from: S,
    pub to: S,
}

impl<S: Machine> fmt::Display for IllegalTransition<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cannot move from {} to {}",
            S::SUBJECT,
            self.from,
            self.to
        )
    }
}

impl<S: Machine> std::error::Error for IllegalTransition<S> {}

/// Declares a status enum — serialized, shown and stored by the names given, with a
/// schema for the API document — and its machine:
///
/// ```ignore
/// kit::status_machine! {
///     /// A shipment's status.
///     pub enum ShipmentStatus: "a shipment" {
///         LabelCreated = "label_created",
///         InTransit = "in_transit",
///         Delivered = "delivered",
///     }
///     moves {
///         LabelCreated => InTransit,
///         InTransit => Delivered,
///     }
/// }
/// ```
#[macro_export]
macro_rules! status_machine {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $subject:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
        moves {
            $( $from:ident => $( $to:ident )|+ ),* $(,)?
        }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        // The names and the list are also inherent, so reading and writing a status
        // needs no trait in scope; the machine's answers are `Machine`'s.
        impl $name {
            /// Every status, in declaration order.
            pub const ALL: &'static [Self] = &[$( $name::$variant ),+];

            /// The name stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The status named `name`, as [`Self::as_str`] spells it.
            pub fn parse(name: &str) -> Option<Self> {
                <Self as $crate::status::Machine>::parse(name)
            }

            /// The status a store holds as `name` (see [`$crate::status::Machine::stored`]).
            pub fn stored(name: &str) -> Result<Self, $crate::db::DbError> {
                <Self as $crate::status::Machine>::stored(name)
            }
        }

        impl $crate::status::Machine for $name {
            const ALL: &'static [Self] = $name::ALL;
            const MOVES: &'static [(Self, Self)] = &[$( $( ($name::$from, $name::$to), )+ )*];
            const SUBJECT: &'static str = $subject;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(name: &str) -> Result<Self, String> {
                $name::parse(name).ok_or_else(|| {
                    format!("must be one of {}", <$name as $crate::status::Machine>::names())
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::status::Machine::as_str(*self))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::status_machine! {
        /// A parcel, for the tests.
        pub enum Parcel: "a parcel" {
            Packed = "packed",
            /// On its way.
            OnItsWay = "on_its_way",
            Arrived = "arrived",
            Lost = "lost",
        }
        moves {
            Packed => OnItsWay | Lost,
            OnItsWay => Arrived | Lost,
        }
    }

    #[test]
    fn a_move_is_allowed_exactly_when_declared() {
        use Parcel::*;
        let declared = [
            (Packed, OnItsWay),
            (Packed, Lost),
            (OnItsWay, Arrived),
            (OnItsWay, Lost),
        ];
        for &from in Parcel::ALL {
            for &to in Parcel::ALL {
                let allowed = declared.contains(&(from, to));
                assert_eq!(from.can_become(to), allowed, "{from} -> {to}");
                assert_eq!(from.check(to).is_ok(), allowed, "{from} -> {to}");
            }
        }
        assert_eq!(Parcel::sources_of(Lost), vec![Packed, OnItsWay]);
        assert!(Arrived.is_final() && Lost.is_final() && !Packed.is_final());
    }

    #[test]
    fn a_refusal_names_the_subject_and_both_states() {
        let refusal = Parcel::Arrived.check(Parcel::OnItsWay).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "a parcel cannot move from arrived to on_its_way"
        );
    }

    #[test]
    fn a_stored_name_no_status_has_is_a_database_error_naming_the_subject() {
        assert_eq!(Parcel::stored("arrived").unwrap(), Parcel::Arrived);
        let error = Parcel::stored("stolen").unwrap_err();
        assert_eq!(
            error.to_string(),
            "stored status \"stolen\" of a parcel is unknown"
        );
    }

    #[test]
    fn names_round_trip_in_text_and_json() {
        for &status in Parcel::ALL {
            assert_eq!(Parcel::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
            assert_eq!(serde_json::from_value::<Parcel>(json).unwrap(), status);
        }
        assert_eq!(Parcel::parse("Packed"), None);
        assert_eq!("lost".parse::<Parcel>(), Ok(Parcel::Lost));
        assert_eq!(
            "Packed".parse::<Parcel>(),
            Err("must be one of packed, on_its_way, arrived, lost".to_owned())
        );
        assert_eq!(Parcel::names(), "packed, on_its_way, arrived, lost");
    }
}
