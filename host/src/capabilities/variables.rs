//! Variables: component variables resolved from the manifest's templates, application
//! variable defaults and `SPIN_VARIABLE_*` (see `fusion_host_app::variables`), through
//! `spin:variables@3.0.0` (spin-sdk 6), `fermyon:spin/variables@2.0.0` and
//! `wasi:config/store@0.2.0-draft-2024-09-27` (spin-sdk 5).

use crate::bindings::fermyon::spin2_0_0::variables as v2;
use crate::bindings::spin::variables::variables::{self as v3};
use crate::bindings::wasi::config::store as wasi_config;
use crate::state::{Capabilities, InstanceState};
use fusion_host_app::variables::{Resolver, VariableError};
use std::sync::Arc;
use wasmtime::component::{Accessor, Linker};

pub struct VariablesInstance {
    pub resolver: Arc<Resolver>,
    pub component: Arc<str>,
}

impl VariablesInstance {
    fn get(&self, name: &str) -> Result<String, VariableError> {
        self.resolver.component_variable(&self.component, name)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    v3::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    v2::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    wasi_config::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    Ok(())
}

impl v3::Host for InstanceState {
    fn convert_error(&mut self, err: v3::Error) -> wasmtime::Result<v3::Error> {
        Ok(err)
    }
}

impl v3::HostWithStore for Capabilities {
    async fn get<T>(accessor: &Accessor<T, Self>, name: String) -> Result<String, v3::Error> {
        accessor.with(|mut access| {
            access.get().variables.get(&name).map_err(|e| match e {
                VariableError::InvalidName(m) => v3::Error::InvalidName(m),
                VariableError::Undefined(m) => v3::Error::Undefined(m),
                VariableError::Other(m) => v3::Error::Other(m),
            })
        })
    }
}

impl v2::Host for InstanceState {
    async fn get(&mut self, name: String) -> Result<String, v2::Error> {
        self.variables.get(&name).map_err(|e| match e {
            VariableError::InvalidName(m) => v2::Error::InvalidName(m),
            VariableError::Undefined(m) => v2::Error::Undefined(m),
            VariableError::Other(m) => v2::Error::Other(m),
        })
    }

    fn convert_error(&mut self, err: v2::Error) -> wasmtime::Result<v2::Error> {
        Ok(err)
    }
}

impl wasi_config::Host for InstanceState {
    /// As Spin: an undefined or invalid name is `none`, not an error.
    async fn get(&mut self, key: String) -> Result<Option<String>, wasi_config::Error> {
        match self.variables.get(&key) {
            Ok(value) => Ok(Some(value)),
            Err(VariableError::Undefined(_) | VariableError::InvalidName(_)) => Ok(None),
            Err(VariableError::Other(m)) => Err(wasi_config::Error::Io(m)),
        }
    }

    async fn get_all(&mut self) -> Result<Vec<(String, String)>, wasi_config::Error> {
        Ok(self
            .variables
            .resolver
            .component_variables(&self.variables.component))
    }

    fn convert_error(&mut self, err: wasi_config::Error) -> wasmtime::Result<wasi_config::Error> {
        Ok(err)
    }
}
