//! Statuses, verdicts and roles are decoded into their domain enums as rows leave the
//! database. A value the program does not know is a decoding error (the request fails
//! and the value is logged), never a default such as an editable draft.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::domain::account::Role;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Colour;

/// A domain enum stored as its text code.
trait Code: Sized + Copy {
    /// What the column holds, for the error message.
    const WHAT: &'static str;
    fn from_code(code: &str) -> Option<Self>;
    fn to_code(self) -> &'static str;
}

impl Code for Role {
    const WHAT: &'static str = "role";
    fn from_code(code: &str) -> Option<Self> {
        Role::parse(code)
    }
    fn to_code(self) -> &'static str {
        self.code()
    }
}

impl Code for Status {
    const WHAT: &'static str = "case status";
    fn from_code(code: &str) -> Option<Self> {
        Status::parse(code)
    }
    fn to_code(self) -> &'static str {
        self.code()
    }
}

impl Code for Colour {
    const WHAT: &'static str = "verdict";
    fn from_code(code: &str) -> Option<Self> {
        Colour::from_code(code)
    }
    fn to_code(self) -> &'static str {
        self.code()
    }
}

fn decode<T: Code>(value: PgValueRef<'_>) -> Result<T, BoxDynError> {
    let text = <&str as Decode<Postgres>>::decode(value)?;
    T::from_code(text).ok_or_else(|| format!("unknown {} `{text}` in the database", T::WHAT).into())
}

macro_rules! stored_as_text {
    ($($ty:ty),*) => {$(
        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                decode(value)
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.to_code(), buf)
            }
        }
    )*};
}

stored_as_text!(Role, Status, Colour);
