//! The deployment files as committed agree with spin.toml.

use infra_check::{Sources, check};

#[test]
fn the_deployment_files_agree_with_spin_toml() {
    let sources = Sources::read(&Sources::workspace_root()).expect("the files are readable");
    let drifts = check(&sources);
    assert!(
        drifts.is_empty(),
        "the deployment files drifted from spin.toml:\n{}",
        drifts
            .iter()
            .map(|drift| format!("  {drift}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
