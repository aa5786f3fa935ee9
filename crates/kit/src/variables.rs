//! A component's configuration, as domain code reads it: the [`Variables`] trait is
//! implemented over Spin's variables by `spin::Spin`, and over a plain map for tests.

use std::collections::HashMap;

/// Reads the component's variables.
#[allow(async_fn_in_trait)] // components are single-threaded wasm; no `Send` bound wanted
pub trait Variables {
    /// The variable `name`; `None` when the component does not define it. `Err` says
    /// why it could not be read.
    async fn variable(&self, name: &str) -> Result<Option<String>, String>;

    /// The variable `name`, empty when undefined.
    async fn text(&self, name: &str) -> Result<String, String> {
        Ok(self.variable(name).await?.unwrap_or_default())
    }
}

/// Fixed values, for native tests; a name not in the map is undefined.
impl Variables for HashMap<&str, &str> {
    async fn variable(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.get(name).map(|value| (*value).to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn a_map_defines_its_names_only() {
        let variables = HashMap::from([("shipping_fee", "500")]);
        assert_eq!(
            block_on(variables.variable("shipping_fee")),
            Ok(Some("500".to_owned()))
        );
        assert_eq!(block_on(variables.variable("tax_rate_bps")), Ok(None));
        assert_eq!(block_on(variables.text("tax_rate_bps")), Ok(String::new()));
    }
}
