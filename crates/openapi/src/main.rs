//! Prints the OpenAPI document: `cargo run -p openapi > web/openapi.json`.

fn main() {
    print!("{}", openapi::document_json());
}
