//! Argon2id password hashing, stored as PHC strings (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`),
//! so a later change of the parameters below still verifies the hashes made before it.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use password_hash::SaltString;
use password_hash::rand_core::OsRng;

/// Memory cost in KiB (19 MiB): OWASP's recommended minimum for Argon2id.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over that memory. With 19 MiB, two passes take about 20–40 ms natively on one core.
pub const ITERATIONS: u32 = 2;
/// Lanes: one, since a Spin instance runs its request on a single thread.
pub const PARALLELISM: u32 = 1;

/// A hash of a random password nobody knows, made with the parameters above. Login verifies
/// against it when the email is unknown, so that answer costs as much time as a wrong password.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$OnvYkJKvScvB0b5tl/n99Q$hSGSB3QbPPPV+siwYrYwis84iRvHdCmcC0ynxwUEt/M";

/// Hashing failed: not the caller's fault (the parameters or the random source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for HashError {}

fn argon2id() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a fresh random salt into a PHC string.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2id()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored PHC string `stored` (parameters read from `stored`).
/// A stored value that is not a PHC string is an error, not a mismatch.
pub fn verify_password(password: &str, stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(|e| HashError(e.to_string()))?;
    match argon2id()?.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(e) => Err(HashError(e.to_string())),
    }
}
