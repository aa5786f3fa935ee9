//! The engine, configured as Spin 4 configures it, and compiled components cached on disk
//! keyed by the wasm's SHA-256 and the engine's compatibility hash, so a warm start only
//! maps precompiled code.

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

const MB: usize = 1 << 20;

pub fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    config.concurrency_support(true);
    // A guest that computes forever is stopped at its request deadline (see
    // `runtime::Deadline`): the compiled code checks the engine's epoch at loop heads.
    config.epoch_interruption(true);
    // Spin's pooling limits (crates/core), sized for 1,000 live instances.
    let instances = 1_000;
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(instances)
        .total_memories(instances)
        .total_tables(2 * instances)
        .total_stacks(instances)
        .total_core_instances(4 * instances)
        .table_elements(100_000)
        .max_component_instance_size(10 * MB)
        .max_core_instance_size(10 * MB)
        .max_core_instances_per_component(200)
        .max_tables_per_component(64)
        .max_memories_per_component(32)
        .max_tables_per_module(2)
        .max_memories_per_module(2)
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(2 * MB)
        .table_keep_resident(MB / 2);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Ok(Engine::new(&config)?)
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FUSION_HOST_CACHE_DIR") {
        return dir.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("fusion-host")
}

/// Loads `path`, from the compile cache when this engine compiled the same bytes before.
pub fn load_component(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    let wasm = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let key = format!("{:x}-{:016x}", Sha256::digest(&wasm), engine_hash.finish());
    let cached = cache_dir().join(format!("{key}.cwasm"));
    if cached.is_file() {
        // SAFETY: the file was written by `Component::serialize` of an engine with the
        // same compatibility hash, into our own cache directory, named by content hash.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!("ignoring unusable cache entry {}: {e}", cached.display()),
        }
    }
    let component = Component::new(engine, &wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a valid component", path.display()))?;
    if let Err(e) = store_in_cache(&component, &cached) {
        tracing::warn!("cannot write compile cache {}: {e:#}", cached.display());
    }
    Ok(component)
}

fn store_in_cache(component: &Component, cached: &Path) -> anyhow::Result<()> {
    let dir = cached.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    // Written beside and renamed, so a concurrent reader never maps a half-written file.
    let partial = dir.join(format!(
        "{}.{}.partial",
        cached.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(
        &partial,
        component.serialize().map_err(anyhow::Error::from)?,
    )?;
    std::fs::rename(&partial, cached)?;
    Ok(())
}
