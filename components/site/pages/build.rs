//! Lists the pages' own files (`web/assets/`) for the component to build in, so adding a
//! script or a stylesheet there needs no edit here.

use std::{env, fs, path::PathBuf};

fn main() {
    let assets = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../../web/assets");
    let assets = assets.canonicalize().expect("web/assets exists");
    println!("cargo:rerun-if-changed={}", assets.display());
    let mut names: Vec<String> = fs::read_dir(&assets)
        .expect("read web/assets")
        .map(|entry| {
            entry
                .unwrap()
                .file_name()
                .into_string()
                .expect("a UTF-8 file name")
        })
        .collect();
    names.sort();
    let entries: String = names
        .iter()
        .map(|name| {
            format!(
                "    ({name:?}, include_bytes!({:?})),\n",
                assets.join(name).display().to_string()
            )
        })
        .collect();
    let table = format!(
        "/// `web/assets/`: each file by name.\npub const ASSETS: &[(&str, &[u8])] = &[\n{entries}];\n"
    );
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("assets.rs"),
        table,
    )
    .unwrap();
}
