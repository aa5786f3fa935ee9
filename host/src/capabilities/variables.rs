//! `spin:variables@3.0.0`: component variables resolved from the manifest's templates,
//! application variable defaults and `SPIN_VARIABLE_*` (see `fusion_host_app::variables`).

use crate::bindings::spin::variables::variables::{self as vars, Error};
use crate::state::{Capabilities, InstanceState};
use fusion_host_app::variables::{Resolver, VariableError};
use std::sync::Arc;
use wasmtime::component::{Accessor, Linker};

pub struct VariablesInstance {
    pub resolver: Arc<Resolver>,
    pub component: Arc<str>,
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    vars::add_to_linker::<_, Capabilities>(linker, |state| state)
}

impl vars::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl vars::HostWithStore for Capabilities {
    async fn get<T>(accessor: &Accessor<T, Self>, name: String) -> Result<String, Error> {
        accessor.with(|mut access| {
            let variables = &access.get().variables;
            variables
                .resolver
                .component_variable(&variables.component, &name)
                .map_err(|e| match e {
                    VariableError::InvalidName(m) => Error::InvalidName(m),
                    VariableError::Undefined(m) => Error::Undefined(m),
                    VariableError::Other(m) => Error::Other(m),
                })
        })
    }
}
