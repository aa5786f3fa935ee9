//! Does a built component run on Spin 3.6 and SpinKube's shim (containerd-shim-spin v0.24)?
//!
//! Both link the world `spin:up@3.6.0`, published as WIT in the spin-sdk 5.2.0 crate. A
//! component runs there when
//!
//! - every import is an interface of that package's `platform` world, resolved with no
//!   unstable features (its `@unstable(feature = wasip3-...)` items are WASIp3, Spin 4
//!   only), at a semver-compatible version no newer than the world's, and every function
//!   it imports from it exists there;
//! - every export is a trigger Spin 3.6 runs for WASIp2 guests: the HTTP trigger's
//!   `wasi:http/incoming-handler@0.2.x` (the exports of `spin:up`'s 3.4.0-and-later
//!   `http-trigger` worlds and of `fermyon:spin@2.0.0`'s) or the Redis trigger's
//!   `fermyon:spin/inbound-redis` (unversioned `fermyon:spin`'s `redis-trigger` world),
//!   and it exports the trigger spin.toml binds it to. A guest serving a trigger may also
//!   import the interfaces that trigger's export takes its types from, as the trigger's
//!   world does (`fermyon:spin/redis-types` for `inbound-redis`).
//!
//! [`SpinWorld`] holds those rules, read from the WIT; [`App`] reads the components of a
//! spin.toml; [`SpinWorld::check_component`] says everything wrong with one, at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use semver::Version;
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{InterfaceId, Resolve, WorldItem};

/// The package whose `platform` world is what Spin 3.6 and SpinKube link.
pub const PLATFORM_PACKAGE: &str = "spin:up@3.6.0";
/// The world of [`PLATFORM_PACKAGE`] a guest's imports must come from.
pub const PLATFORM_WORLD: &str = "platform";
/// The crate that publishes [`PLATFORM_PACKAGE`]'s WIT, in its `wit/` directory.
pub const SPIN_SDK: &str = "spin-sdk";
/// The version of [`SPIN_SDK`] whose WIT is `spin:up@3.6.0`.
pub const SPIN_SDK_VERSION: &str = "5.2.0";
/// Names a WIT directory to use instead of spin-sdk 5.2.0's (found by `cargo metadata`).
pub const WIT_DIR_ENV: &str = "WORLD_CHECK_WIT_DIR";

/// The kind of trigger a component serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    Http,
    Redis,
}

impl Trigger {
    /// The trigger of a `[[trigger.KIND]]` table of spin.toml, if it is one this checks.
    pub fn from_manifest_kind(kind: &str) -> Option<Trigger> {
        match kind {
            "http" => Some(Trigger::Http),
            "redis" => Some(Trigger::Redis),
            _ => None,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Http => "http",
            Trigger::Redis => "redis",
        })
    }
}

/// Which package versions a trigger rule takes its world from.
enum Versions {
    /// Every version at or above this one.
    AtLeast(u64, u64, u64),
    /// Exactly this one.
    Exactly(u64, u64, u64),
    /// The unversioned package.
    None,
}

impl Versions {
    fn admits(&self, version: Option<&Version>) -> bool {
        match (self, version) {
            (Versions::AtLeast(major, minor, patch), Some(v)) => {
                v.pre.is_empty() && (v.major, v.minor, v.patch) >= (*major, *minor, *patch)
            }
            (Versions::Exactly(major, minor, patch), Some(v)) => {
                *v == Version::new(*major, *minor, *patch)
            }
            (Versions::None, None) => true,
            _ => false,
        }
    }
}

/// The worlds whose exports are the triggers Spin 3.6 runs for WASIp2 guests.
const TRIGGER_WORLDS: &[(Trigger, &str, &str, Versions, &str)] = &[
    (
        Trigger::Http,
        "spin",
        "up",
        Versions::AtLeast(3, 4, 0),
        "http-trigger",
    ),
    (
        Trigger::Http,
        "fermyon",
        "spin",
        Versions::Exactly(2, 0, 0),
        "http-trigger",
    ),
    (
        Trigger::Redis,
        "fermyon",
        "spin",
        Versions::None,
        "redis-trigger",
    ),
];

/// A named interface, and the names of its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interface {
    namespace: String,
    package: String,
    name: String,
    version: Option<Version>,
    functions: BTreeSet<String>,
}

impl Interface {
    fn from_resolve(resolve: &Resolve, id: InterfaceId) -> Option<Interface> {
        let interface = &resolve.interfaces[id];
        let package = &resolve.packages[interface.package?].name;
        Some(Interface {
            namespace: package.namespace.clone(),
            package: package.name.clone(),
            name: interface.name.clone()?,
            version: package.version.clone(),
            functions: interface.functions.keys().cloned().collect(),
        })
    }

    fn same_interface(&self, other: &Interface) -> bool {
        self.namespace == other.namespace
            && self.package == other.package
            && self.name == other.name
    }

    /// `ns:pkg/name`, without the version.
    fn path(&self) -> String {
        format!("{}:{}/{}", self.namespace, self.package, self.name)
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())?;
        match &self.version {
            Some(v) => write!(f, "@{v}"),
            None => Ok(()),
        }
    }
}

/// Whether two versions are semver-compatible, as the component model links them: the same
/// major version, or for 0.x the same minor (for 0.0.x the same patch); a pre-release
/// version is compatible only with itself.
pub fn semver_compatible(a: &Version, b: &Version) -> bool {
    if !a.pre.is_empty() || !b.pre.is_empty() {
        return a == b;
    }
    if a.major != b.major {
        return false;
    }
    if a.major > 0 {
        return true;
    }
    if a.minor != b.minor {
        return false;
    }
    a.minor > 0 || a.patch == b.patch
}

/// Whether a host offering an interface at `offered` satisfies a guest importing it at
/// `imported`: compatible, and no older than what the guest asks for.
pub fn import_satisfied(imported: Option<&Version>, offered: Option<&Version>) -> bool {
    match (imported, offered) {
        (None, None) => true,
        (Some(imported), Some(offered)) => {
            semver_compatible(imported, offered) && offered >= imported
        }
        _ => false,
    }
}

/// Whether a guest export at `exported` is the trigger interface a host knows at `known`:
/// compatible either way (`wasi:http/incoming-handler@0.2.x`).
pub fn export_matches(exported: Option<&Version>, known: Option<&Version>) -> bool {
    match (exported, known) {
        (None, None) => true,
        (Some(exported), Some(known)) => semver_compatible(exported, known),
        _ => false,
    }
}

/// One thing wrong with a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An import the platform world does not offer.
    Import { name: String, reason: String },
    /// An export that is no trigger Spin 3.6 runs.
    Export { name: String, reason: String },
    /// A trigger spin.toml binds the component to, which it does not export.
    MissingTrigger {
        trigger: Option<Trigger>,
        reason: String,
    },
    /// The file is no component (a core module, a WIT package, not wasm at all).
    NotAComponent { reason: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Import { name, reason } => write!(f, "import `{name}`: {reason}"),
            Problem::Export { name, reason } => write!(f, "export `{name}`: {reason}"),
            Problem::MissingTrigger {
                trigger: Some(trigger),
                reason,
            } => {
                write!(f, "{trigger} trigger: {reason}")
            }
            Problem::MissingTrigger {
                trigger: None,
                reason,
            } => write!(f, "trigger: {reason}"),
            Problem::NotAComponent { reason } => write!(f, "not a component: {reason}"),
        }
    }
}

/// The world Spin 3.6 and SpinKube link, read from WIT: what a guest may import, and the
/// trigger exports the host runs.
#[derive(Debug, Clone)]
pub struct SpinWorld {
    wit_dir: PathBuf,
    imports: Vec<Interface>,
    exports: Vec<TriggerExport>,
}

/// An export a trigger calls, and the interfaces its types come from, which the trigger's
/// world imports for it (`fermyon:spin/inbound-redis` uses `fermyon:spin/redis-types`, in no
/// `platform` world): a guest serving the trigger may import those too.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TriggerExport {
    trigger: Trigger,
    interface: Interface,
    uses: Vec<Interface>,
}

impl SpinWorld {
    /// Reads the WIT directory of spin-sdk 5.2.0 (`world.wit` of [`PLATFORM_PACKAGE`] and its
    /// `deps/`), with no unstable feature enabled.
    pub fn load(wit_dir: &Path) -> Result<SpinWorld, String> {
        // `Resolve::default()` enables no feature: `@unstable` items are left out.
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_dir(wit_dir)
            .map_err(|e| format!("reading the WIT in {}: {e:?}", wit_dir.display()))?;
        let name = resolve.packages[package].name.to_string();
        if name != PLATFORM_PACKAGE {
            return Err(format!(
                "{} holds package {name}, not {PLATFORM_PACKAGE}",
                wit_dir.display()
            ));
        }
        let world = resolve
            .select_world(&[package], Some(PLATFORM_WORLD))
            .map_err(|e| format!("no world `{PLATFORM_WORLD}` in {name}: {e:?}"))?;
        let imports: Vec<Interface> = resolve.worlds[world]
            .imports
            .values()
            .filter_map(|item| match item {
                WorldItem::Interface { id, .. } => Interface::from_resolve(&resolve, *id),
                _ => None,
            })
            .collect();
        if imports.is_empty() {
            return Err(format!("{name} `{PLATFORM_WORLD}` imports no interface"));
        }

        let mut exports = Vec::new();
        for (_, package) in resolve.packages.iter() {
            for (trigger, namespace, package_name, versions, world) in TRIGGER_WORLDS {
                if package.name.namespace != *namespace
                    || package.name.name != *package_name
                    || !versions.admits(package.name.version.as_ref())
                {
                    continue;
                }
                let Some(world) = package.worlds.get(*world) else {
                    continue;
                };
                for item in resolve.worlds[*world].exports.values() {
                    if let WorldItem::Interface { id, .. } = item
                        && let Some(interface) = Interface::from_resolve(&resolve, *id)
                    {
                        let export = TriggerExport {
                            trigger: *trigger,
                            interface,
                            uses: interface_uses(&resolve, *id),
                        };
                        if !exports.contains(&export) {
                            exports.push(export);
                        }
                    }
                }
            }
        }
        for trigger in [Trigger::Http, Trigger::Redis] {
            if !exports.iter().any(|e| e.trigger == trigger) {
                return Err(format!(
                    "found no {trigger} trigger world's export in the WIT of {}",
                    wit_dir.display()
                ));
            }
        }
        Ok(SpinWorld {
            wit_dir: wit_dir.to_path_buf(),
            imports,
            exports,
        })
    }

    /// Finds spin-sdk 5.2.0's WIT (see [`spin_sdk_wit_dir`]) and loads it.
    pub fn locate(workspace: &Path) -> Result<SpinWorld, String> {
        SpinWorld::load(&spin_sdk_wit_dir(workspace)?)
    }

    /// The WIT directory this was read from.
    pub fn wit_dir(&self) -> &Path {
        &self.wit_dir
    }

    /// The interfaces a guest may import, as `ns:pkg/name@version`.
    pub fn import_names(&self) -> Vec<String> {
        self.imports.iter().map(ToString::to_string).collect()
    }

    /// The trigger exports the host runs, as `ns:pkg/name@version`.
    pub fn export_names(&self) -> Vec<(Trigger, String)> {
        self.exports
            .iter()
            .map(|e| (e.trigger, e.interface.to_string()))
            .collect()
    }

    fn known_exports(&self) -> String {
        let mut exports: Vec<&TriggerExport> = self.exports.iter().collect();
        exports.sort_by_key(|e| (e.trigger, e.interface.path()));
        let mut names: Vec<String> = exports
            .into_iter()
            .map(
                |TriggerExport {
                     trigger, interface, ..
                 }| {
                    let version = match &interface.version {
                        Some(v) if v.major == 0 && v.pre.is_empty() => format!("@0.{}.x", v.minor),
                        Some(v) if v.pre.is_empty() => format!("@{}.x", v.major),
                        Some(v) => format!("@{v}"),
                        None => String::new(),
                    };
                    format!("{}{version} ({trigger})", interface.path())
                },
            )
            .collect();
        names.dedup();
        names.join(", ")
    }

    /// What is wrong with an import, for a guest serving `served` (whose exports' types may
    /// be imported too).
    fn check_import(&self, import: &Interface, served: &[&TriggerExport]) -> Option<String> {
        let candidates: Vec<&Interface> = self
            .imports
            .iter()
            .chain(served.iter().flat_map(|e| &e.uses))
            .filter(|offered| offered.same_interface(import))
            .collect();
        if candidates.is_empty() {
            return Some(format!(
                "{PLATFORM_PACKAGE} `{PLATFORM_WORLD}` has no `{}` at any version{}",
                import.path(),
                wasip3_hint(import)
            ));
        }
        let Some(best) = candidates
            .iter()
            .filter(|offered| import_satisfied(import.version.as_ref(), offered.version.as_ref()))
            .max_by(|a, b| a.version.cmp(&b.version))
        else {
            let mut candidates = candidates;
            candidates.sort_by(|a, b| a.version.cmp(&b.version));
            let mut offered: Vec<String> = candidates
                .iter()
                .map(|c| {
                    c.version
                        .as_ref()
                        .map_or("(unversioned)".into(), |v| v.to_string())
                })
                .collect();
            offered.dedup();
            return Some(format!(
                "{PLATFORM_PACKAGE} `{PLATFORM_WORLD}` has `{}` only at {}: none is \
                 semver-compatible with and at least {}{}",
                import.path(),
                offered.join(", "),
                import
                    .version
                    .as_ref()
                    .map_or("(unversioned)".into(), |v| v.to_string()),
                wasip3_hint(import)
            ));
        };
        let missing: Vec<String> = import
            .functions
            .difference(&best.functions)
            .map(|f| format!("`{f}`"))
            .collect();
        if missing.is_empty() {
            None
        } else {
            Some(format!(
                "{} not in `{best}` of {PLATFORM_PACKAGE} `{PLATFORM_WORLD}`",
                plural(&missing, "function", "functions")
            ))
        }
    }

    /// The trigger an exported interface serves, or what is wrong with it.
    fn check_export(&self, export: &Interface) -> Result<&TriggerExport, String> {
        let found = self
            .exports
            .iter()
            .filter(|known| {
                known.interface.same_interface(export)
                    && export_matches(export.version.as_ref(), known.interface.version.as_ref())
            })
            .max_by(|a, b| a.interface.version.cmp(&b.interface.version));
        let Some(found) = found else {
            return Err(format!(
                "not a trigger export Spin 3.6 runs (it runs {}){}",
                self.known_exports(),
                wasip3_hint(export)
            ));
        };
        let known = &found.interface;
        let unknown: Vec<String> = export
            .functions
            .difference(&known.functions)
            .map(|f| format!("`{f}`"))
            .collect();
        let absent: Vec<String> = known
            .functions
            .difference(&export.functions)
            .map(|f| format!("`{f}`"))
            .collect();
        let mut wrong = Vec::new();
        if !unknown.is_empty() {
            wrong.push(format!(
                "{} not in `{known}`",
                plural(&unknown, "function", "functions")
            ));
        }
        if !absent.is_empty() {
            wrong.push(format!(
                "{} of `{known}` not exported",
                plural(&absent, "function", "functions")
            ));
        }
        if wrong.is_empty() {
            Ok(found)
        } else {
            Err(wrong.join("; "))
        }
    }

    /// Everything wrong with a component's bytes, for a component spin.toml binds to
    /// `triggers` (when empty, it must export some trigger).
    pub fn check_bytes(&self, bytes: &[u8], triggers: &[Trigger]) -> Vec<Problem> {
        // `decode` reads a core module's embedded `component-type` metadata as if it were a
        // component: look at the header first (a component is layer 1, a core module layer 0).
        match bytes {
            [0, b'a', b's', b'm', _, _, 1, 0, ..] => {}
            [0, b'a', b's', b'm', _, _, 0, 0, ..] => {
                return vec![Problem::NotAComponent {
                    reason: "it is a core WebAssembly module (built for wasm32-wasip1?), not a \
                             component: build it for wasm32-wasip2"
                        .into(),
                }];
            }
            _ => {
                return vec![Problem::NotAComponent {
                    reason: "it is not WebAssembly".into(),
                }];
            }
        }
        let (resolve, world) = match decode(bytes) {
            Ok(DecodedWasm::Component(resolve, world)) => (resolve, world),
            Ok(DecodedWasm::WitPackage(..)) => {
                return vec![Problem::NotAComponent {
                    reason: "it is a WIT package".into(),
                }];
            }
            Err(e) => {
                return vec![Problem::NotAComponent {
                    reason: format!("{e:#}"),
                }];
            }
        };
        let world = &resolve.worlds[world];

        // Exports first: the triggers served decide which of their types' interfaces the
        // guest may import besides the platform world's.
        let mut export_problems = Vec::new();
        let mut served: Vec<&TriggerExport> = Vec::new();
        for (key, item) in &world.exports {
            let name = resolve.name_world_key(key);
            let result = match item {
                WorldItem::Interface { id, .. } => match Interface::from_resolve(&resolve, *id) {
                    Some(interface) => self.check_export(&interface),
                    None => Err(format!(
                        "an unnamed instance, not a trigger export Spin 3.6 runs (it runs {})",
                        self.known_exports()
                    )),
                },
                WorldItem::Function(_) | WorldItem::Type { .. } => Err(format!(
                    "not a trigger export Spin 3.6 runs (it runs {})",
                    self.known_exports()
                )),
            };
            match result {
                Ok(export) => served.push(export),
                Err(reason) => export_problems.push(Problem::Export { name, reason }),
            }
        }

        let mut problems = Vec::new();
        for (key, item) in &world.imports {
            let name = resolve.name_world_key(key);
            let reason = match item {
                WorldItem::Interface { id, .. } => match Interface::from_resolve(&resolve, *id) {
                    Some(interface) => self.check_import(&interface, &served),
                    None => Some(format!(
                        "an unnamed instance; {PLATFORM_PACKAGE} `{PLATFORM_WORLD}` imports only \
                         named interfaces"
                    )),
                },
                WorldItem::Function(_) => Some(format!(
                    "a bare function; {PLATFORM_PACKAGE} `{PLATFORM_WORLD}` imports only interfaces"
                )),
                WorldItem::Type { .. } => Some(format!(
                    "a bare type; {PLATFORM_PACKAGE} `{PLATFORM_WORLD}` imports only interfaces"
                )),
            };
            if let Some(reason) = reason {
                problems.push(Problem::Import { name, reason });
            }
        }
        problems.extend(export_problems);
        let served: BTreeSet<Trigger> = served.iter().map(|e| e.trigger).collect();

        let wanted: BTreeSet<Trigger> = triggers.iter().copied().collect();
        for trigger in &wanted {
            if !served.contains(trigger) {
                let exports: Vec<String> = self
                    .exports
                    .iter()
                    .filter(|e| e.trigger == *trigger)
                    .map(|e| format!("`{}`", e.interface))
                    .collect();
                problems.push(Problem::MissingTrigger {
                    trigger: Some(*trigger),
                    reason: format!(
                        "spin.toml binds it to {} {trigger} trigger, but it exports no {} \
                         (semver-compatible)",
                        if *trigger == Trigger::Http { "an" } else { "a" },
                        exports.join(" or ")
                    ),
                });
            }
        }
        if wanted.is_empty() && served.is_empty() {
            problems.push(Problem::MissingTrigger {
                trigger: None,
                reason: format!(
                    "it exports no trigger Spin 3.6 runs ({})",
                    self.known_exports()
                ),
            });
        }
        problems
    }

    /// Checks one component of the app: its file must exist and fit the world.
    pub fn check_component(&self, component: &AppComponent) -> Result<(), Failure> {
        let failure = |problems| Failure {
            id: component.id.clone(),
            source: component.source.clone(),
            kind: problems,
        };
        let bytes = match std::fs::read(&component.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(failure(FailureKind::Missing {
                    build_command: component.build_command.clone(),
                }));
            }
            Err(e) => {
                return Err(failure(FailureKind::Unreadable {
                    path: component.path.clone(),
                    error: e.to_string(),
                }));
            }
        };
        let problems = self.check_bytes(&bytes, &component.triggers);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(failure(FailureKind::Problems(problems)))
        }
    }

    /// Checks every component of the app; the failures, in spin.toml's order.
    pub fn check_app(&self, app: &App) -> Vec<Failure> {
        app.components
            .iter()
            .filter_map(|c| self.check_component(c).err())
            .collect()
    }
}

/// The interfaces whose types `id` uses, transitively.
fn interface_uses(resolve: &Resolve, id: InterfaceId) -> Vec<Interface> {
    let mut seen = vec![id];
    let mut next = 0;
    while next < seen.len() {
        for dep in resolve.interface_direct_deps(seen[next]) {
            if !seen.contains(&dep) {
                seen.push(dep);
            }
        }
        next += 1;
    }
    seen[1..]
        .iter()
        .filter_map(|dep| Interface::from_resolve(resolve, *dep))
        .collect()
}

fn plural(items: &[String], one: &str, many: &str) -> String {
    format!(
        "{} {}",
        if items.len() == 1 { one } else { many },
        items.join(", ")
    )
}

fn wasip3_hint(interface: &Interface) -> &'static str {
    match &interface.version {
        Some(v) if interface.namespace == "wasi" && v.major == 0 && v.minor >= 3 => {
            " (a WASIp3 interface: Spin 4 only)"
        }
        _ => "",
    }
}

/// Why a component of the app does not run on Spin 3.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its id in spin.toml (`[component.ID]`).
    pub id: String,
    /// Its `source`, as spin.toml says it.
    pub source: String,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The .wasm file is not there: it was never built.
    Missing {
        build_command: Option<String>,
    },
    Unreadable {
        path: PathBuf,
        error: String,
    },
    Problems(Vec<Problem>),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Failure { id, source, kind } = self;
        match kind {
            FailureKind::Missing { build_command } => {
                write!(
                    f,
                    "component `{id}` ({source}): the file does not exist; build the app with \
                     `scripts/setup`"
                )?;
                match build_command {
                    Some(command) => write!(f, " (or this component alone: `{command}`)"),
                    None => Ok(()),
                }
            }
            FailureKind::Unreadable { path, error } => {
                write!(
                    f,
                    "component `{id}` ({source}): reading {}: {error}",
                    path.display()
                )
            }
            FailureKind::Problems(problems) => {
                write!(
                    f,
                    "component `{id}` ({source}) does not run on Spin 3.6 / SpinKube \
                     ({PLATFORM_PACKAGE}):"
                )?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Failure {}

/// A component of spin.toml built from a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppComponent {
    /// Its id (`[component.ID]`).
    pub id: String,
    /// Its `source`, as written.
    pub source: String,
    /// The file, relative to spin.toml's directory.
    pub path: PathBuf,
    /// Its `build.command`, if any.
    pub build_command: Option<String>,
    /// The triggers it is bound to (`[[trigger.http]] component = "ID"`).
    pub triggers: Vec<Trigger>,
}

/// The components of a Spin application manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub manifest: PathBuf,
    /// Every component whose `source` is a local file, in the manifest's order (components
    /// fetched from a URL are not the app's build and are not listed).
    pub components: Vec<AppComponent>,
}

impl App {
    /// Reads a spin.toml.
    pub fn read(manifest: &Path) -> Result<App, String> {
        let text = std::fs::read_to_string(manifest)
            .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
        let base = manifest.parent().unwrap_or(Path::new("."));
        App::parse(&text, base)
            .map(|components| App {
                manifest: manifest.to_path_buf(),
                components,
            })
            .map_err(|e| format!("{}: {e}", manifest.display()))
    }

    /// The components of a spin.toml's text, their files relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Vec<AppComponent>, String> {
        let manifest: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;

        let mut triggers: BTreeMap<&str, Vec<Trigger>> = BTreeMap::new();
        if let Some(kinds) = manifest.get("trigger").and_then(toml::Value::as_table) {
            for (kind, entries) in kinds {
                let Some(trigger) = Trigger::from_manifest_kind(kind) else {
                    continue;
                };
                for entry in entries.as_array().into_iter().flatten() {
                    if let Some(id) = entry.get("component").and_then(toml::Value::as_str) {
                        let bound = triggers.entry(id).or_default();
                        if !bound.contains(&trigger) {
                            bound.push(trigger);
                        }
                    }
                }
            }
        }

        let Some(components) = manifest.get("component").and_then(toml::Value::as_table) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (id, component) in components {
            let source = match component.get("source") {
                Some(toml::Value::String(source)) => source,
                Some(toml::Value::Table(_)) => continue,
                Some(_) => {
                    return Err(format!(
                        "component `{id}`: `source` is neither path nor table"
                    ));
                }
                None => return Err(format!("component `{id}` has no `source`")),
            };
            out.push(AppComponent {
                id: id.clone(),
                source: source.clone(),
                path: base.join(source),
                build_command: component
                    .get("build")
                    .and_then(|build| build.get("command"))
                    .and_then(toml::Value::as_str)
                    .map(str::to_string),
                triggers: triggers.get(id.as_str()).cloned().unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

/// The workspace this crate is part of (two levels above it).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// The `wit/` directory of spin-sdk 5.2.0 as the workspace resolves it: `cargo metadata`
/// names the manifest of every package, registry or not. [`WIT_DIR_ENV`] overrides it.
pub fn spin_sdk_wit_dir(workspace: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(WIT_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("running {} metadata: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata in {} failed: {}",
            workspace.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("reading cargo metadata's output: {e}"))?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == SPIN_SDK && p["version"] == SPIN_SDK_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| {
            format!(
                "the workspace at {} does not depend on {SPIN_SDK} {SPIN_SDK_VERSION}, whose WIT \
                 is {PLATFORM_PACKAGE}; set {WIT_DIR_ENV} to a WIT directory of it",
                workspace.display()
            )
        })?;
    let wit = Path::new(manifest)
        .parent()
        .map(|dir| dir.join("wit"))
        .unwrap_or_default();
    if !wit.join("world.wit").is_file() {
        return Err(format!("{} has no world.wit", wit.display()));
    }
    Ok(wit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use wit_parser::{LiftLowerAbi, ManglingAndAbi};

    fn world() -> &'static SpinWorld {
        static WORLD: OnceLock<SpinWorld> = OnceLock::new();
        WORLD.get_or_init(|| SpinWorld::locate(&workspace_root()).unwrap_or_else(|e| panic!("{e}")))
    }

    /// A component of `world` in `wit` (a package, which may use spin-sdk 5.2's WIT and
    /// nest packages of its own), with a dummy core module; `async_abi` for WASIp3.
    fn component(wit: &str, world_name: &str, async_abi: bool) -> Vec<u8> {
        let mut resolve = Resolve::default();
        resolve.push_dir(world().wit_dir()).unwrap();
        let package = resolve.push_str("test.wit", wit).unwrap();
        let world_id = resolve.select_world(&[package], Some(world_name)).unwrap();
        let mangling = ManglingAndAbi::Legacy(if async_abi {
            LiftLowerAbi::AsyncCallback
        } else {
            LiftLowerAbi::Sync
        });
        let mut module = wit_component::dummy_module(&resolve, world_id, mangling);
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world_id,
            wit_component::StringEncoding::UTF8,
        )
        .unwrap();
        wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&module)
            .unwrap()
            .encode()
            .unwrap()
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// The names the problems are about.
    fn names(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| match p {
                Problem::Import { name, .. } | Problem::Export { name, .. } => name.clone(),
                Problem::MissingTrigger { trigger, .. } => format!("trigger {trigger:?}"),
                Problem::NotAComponent { .. } => "not a component".into(),
            })
            .collect()
    }

    const WASIP3_PACKAGES: &str = r#"
        package wasi:http@0.3.0-rc-2026-03-15 {
            interface types {
                resource request { constructor(); }
                resource response { constructor(); }
                variant error-code { internal-error(option<string>) }
            }
            interface handler {
                use types.{request, response, error-code};
                handle: async func(request: request) -> result<response, error-code>;
            }
        }
        package spin:key-value@3.0.0 {
            interface key-value {
                resource store {
                    open: static async func(label: string) -> result<store, string>;
                    get: async func(key: string) -> result<option<list<u8>>, string>;
                }
            }
        }
    "#;

    #[test]
    fn the_platform_world_is_wasip2_and_its_triggers_come_from_the_wit() {
        let world = world();
        let imports = world.import_names();
        for name in [
            "wasi:http/outgoing-handler@0.2.6",
            "wasi:io/poll@0.2.6",
            "wasi:keyvalue/store@0.2.0-draft2",
            "spin:postgres/postgres@4.0.0",
            "spin:sqlite/sqlite@3.0.0",
            "fermyon:spin/variables@2.0.0",
            "wasi:config/store@0.2.0-draft-2024-09-27",
        ] {
            assert!(
                imports.contains(&name.to_string()),
                "{name} not in {imports:?}"
            );
        }
        assert!(
            !imports.iter().any(|i| i.contains("@0.3.")),
            "WASIp3 (unstable) imports resolved into the world: {imports:?}"
        );
        let exports = world.export_names();
        assert!(exports.contains(&(Trigger::Http, "wasi:http/incoming-handler@0.2.0".into())));
        assert!(exports.contains(&(Trigger::Redis, "fermyon:spin/inbound-redis".into())));
        assert!(
            !exports.iter().any(|(_, e)| e.contains("handler@0.3")),
            "{exports:?}"
        );
    }

    #[test]
    fn version_rule() {
        assert!(import_satisfied(Some(&v("0.2.0")), Some(&v("0.2.6"))));
        assert!(import_satisfied(Some(&v("0.2.6")), Some(&v("0.2.6"))));
        assert!(!import_satisfied(Some(&v("0.2.7")), Some(&v("0.2.6"))));
        assert!(!import_satisfied(Some(&v("0.3.0")), Some(&v("0.2.6"))));
        assert!(!import_satisfied(Some(&v("0.1.0")), Some(&v("0.2.6"))));
        assert!(import_satisfied(Some(&v("3.0.0")), Some(&v("3.2.0"))));
        assert!(!import_satisfied(Some(&v("3.0.0")), Some(&v("4.0.0"))));
        assert!(!import_satisfied(Some(&v("0.0.1")), Some(&v("0.0.2"))));
        assert!(import_satisfied(
            Some(&v("0.2.0-draft2")),
            Some(&v("0.2.0-draft2"))
        ));
        assert!(!import_satisfied(
            Some(&v("0.2.0-draft")),
            Some(&v("0.2.0-draft2"))
        ));
        assert!(!import_satisfied(
            Some(&v("0.2.0")),
            Some(&v("0.2.0-draft2"))
        ));
        assert!(!import_satisfied(
            Some(&v("0.3.0-rc-2026-03-15")),
            Some(&v("0.3.0-rc-2026-01-06"))
        ));
        assert!(import_satisfied(None, None));
        assert!(!import_satisfied(None, Some(&v("2.0.0"))));
        assert!(!import_satisfied(Some(&v("2.0.0")), None));
        assert!(export_matches(Some(&v("0.2.6")), Some(&v("0.2.0"))));
        assert!(!export_matches(
            Some(&v("0.3.0-rc-2026-03-15")),
            Some(&v("0.2.0"))
        ));
    }

    #[test]
    fn a_wasip2_http_component_of_platform_interfaces_passes() {
        let bytes = component(
            r#"package test:ok;
            world ok {
                import wasi:io/poll@0.2.0;
                import wasi:http/outgoing-handler@0.2.0;
                import wasi:cli/environment@0.2.6;
                import wasi:keyvalue/store@0.2.0-draft2;
                import wasi:keyvalue/atomics@0.2.0-draft2;
                import fermyon:spin/variables@2.0.0;
                import spin:sqlite/sqlite@3.0.0;
                import spin:postgres/postgres@4.0.0;
                export wasi:http/incoming-handler@0.2.0;
            }"#,
            "ok",
            false,
        );
        assert_eq!(world().check_bytes(&bytes, &[Trigger::Http]), vec![]);
        assert_eq!(world().check_bytes(&bytes, &[]), vec![]);
    }

    #[test]
    fn a_redis_component_passes_but_not_on_an_http_trigger() {
        let bytes = component(
            "package test:ok; world ok { export fermyon:spin/inbound-redis; }",
            "ok",
            false,
        );
        assert_eq!(world().check_bytes(&bytes, &[Trigger::Redis]), vec![]);
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        assert_eq!(names(&problems), ["trigger Some(Http)"], "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .contains("wasi:http/incoming-handler@0.2.0")
        );
        // The Redis trigger's types come with its export, not with the platform world.
        let bytes = component(
            r#"package test:types;
            interface publish {
                use fermyon:spin/redis-types.{payload};
                publish: func(message: payload);
            }
            world types {
                import publish;
                export wasi:http/incoming-handler@0.2.0;
            }"#,
            "types",
            false,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        assert_eq!(
            names(&problems),
            ["fermyon:spin/redis-types", "test:types/publish"],
            "{problems:?}"
        );
    }

    #[test]
    fn wasip3_imports_fail_each_named() {
        let bytes = component(
            &format!(
                r#"package test:p3;
                world p3 {{
                    import wasi:io/poll@0.2.6;
                    import wasi:http/types@0.3.0-rc-2026-03-15;
                    import spin:key-value/key-value@3.0.0;
                    export wasi:http/incoming-handler@0.2.6;
                }}
                {WASIP3_PACKAGES}"#
            ),
            "p3",
            true,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        assert_eq!(
            names(&problems),
            [
                "wasi:http/types@0.3.0-rc-2026-03-15",
                "spin:key-value/key-value@3.0.0"
            ],
            "{problems:#?}"
        );
        let text = problems.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(
            text[0].contains("only at 0.2.0, 0.2.6") && text[0].contains("WASIp3"),
            "{text:?}"
        );
        assert!(
            text[1].contains("no `spin:key-value/key-value` at any version"),
            "{text:?}"
        );
    }

    #[test]
    fn the_unstable_wasip3_items_of_the_world_do_not_count() {
        // In world.wit, but only under `@unstable(feature = wasip3-rc20260106)`.
        let bytes = component(
            r#"package test:p3;
            world p3 {
                import wasi:http/handler@0.3.0-rc-2026-01-06;
                import wasi:cli/environment@0.3.0-rc-2026-01-06;
                export wasi:http/incoming-handler@0.2.0;
            }"#,
            "p3",
            true,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        let names = names(&problems);
        for name in [
            "wasi:http/handler@0.3.0-rc-2026-01-06",
            "wasi:http/types@0.3.0-rc-2026-01-06",
            "wasi:cli/environment@0.3.0-rc-2026-01-06",
        ] {
            assert!(names.contains(&name.to_string()), "{name} not in {names:?}");
        }
        assert!(
            names.iter().all(|n| n.contains("@0.3.0-rc-2026-01-06")),
            "{names:?}"
        );
    }

    #[test]
    fn a_wasip3_handler_export_fails() {
        let bytes = component(
            &format!(
                r#"package test:p3;
                world p3 {{ export wasi:http/handler@0.3.0-rc-2026-03-15; }}
                {WASIP3_PACKAGES}"#
            ),
            "p3",
            true,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        assert_eq!(
            names(&problems),
            [
                "wasi:http/types@0.3.0-rc-2026-03-15",
                "wasi:http/handler@0.3.0-rc-2026-03-15",
                "trigger Some(Http)"
            ],
            "{problems:#?}"
        );
        assert!(matches!(&problems[1], Problem::Export { reason, .. }
            if reason.contains("wasi:http/incoming-handler@0.2.x (http)")
                && reason.contains("fermyon:spin/inbound-redis (redis)")));
        // Bound to no trigger, it still has to export one.
        let problems = world().check_bytes(&bytes, &[]);
        assert!(matches!(
            problems.last(),
            Some(Problem::MissingTrigger { trigger: None, .. })
        ));
    }

    #[test]
    fn imports_newer_than_the_world_or_of_another_prerelease_fail() {
        let bytes = component(
            r#"package test:new;
            world new {
                import wasi:cli/environment@0.2.9;
                import wasi:keyvalue/store@0.2.0-draft;
                export fermyon:spin/inbound-redis;
            }
            package wasi:cli@0.2.9 { interface environment { get-arguments: func() -> list<string>; } }
            package wasi:keyvalue@0.2.0-draft { interface store { f: func(); } }"#,
            "new",
            false,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Redis]);
        assert_eq!(
            names(&problems),
            [
                "wasi:cli/environment@0.2.9",
                "wasi:keyvalue/store@0.2.0-draft"
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn a_function_the_world_lacks_fails() {
        let bytes = component(
            r#"package test:fns;
            world fns {
                import wasi:random/random@0.2.1;
                import shout: func();
                export wasi:http/incoming-handler@0.2.3;
            }
            package wasi:random@0.2.1 {
                interface random {
                    get-random-u64: func() -> u64;
                    get-random-galaxy: func() -> u64;
                }
            }"#,
            "fns",
            false,
        );
        let problems = world().check_bytes(&bytes, &[Trigger::Http]);
        assert_eq!(
            names(&problems),
            ["wasi:random/random@0.2.1", "shout"],
            "{problems:#?}"
        );
        let text = problems[0].to_string();
        assert!(
            text.contains("`get-random-galaxy`")
                && !text.contains("get-random-u64")
                && text.contains("wasi:random/random@0.2.6"),
            "{text}"
        );
    }

    #[test]
    fn a_core_module_is_not_a_component() {
        let problems = world().check_bytes(b"\0asm\x01\0\0\0", &[Trigger::Http]);
        assert!(
            matches!(problems[..], [Problem::NotAComponent { .. }]),
            "{problems:?}"
        );
    }

    #[test]
    fn spin_toml_components_their_files_builds_and_triggers() {
        let components = App::parse(
            r#"
            spin_manifest_version = 2
            [application]
            name = "x"
            [[trigger.http]]
            route = "/a/..."
            component = "a"
            [[trigger.http]]
            route = "/b"
            component = "a"
            [[trigger.redis]]
            channel = "c"
            component = "b"
            [component.a]
            source = "target/wasm32-wasip2/release/a.wasm"
            [component.a.build]
            command = "cargo build -p a"
            [component.b]
            source = "b.wasm"
            [component.remote]
            source = { url = "https://example.com/r.wasm", digest = "sha256:00" }
            "#,
            Path::new("/app"),
        )
        .unwrap();
        assert_eq!(
            components,
            [
                AppComponent {
                    id: "a".into(),
                    source: "target/wasm32-wasip2/release/a.wasm".into(),
                    path: "/app/target/wasm32-wasip2/release/a.wasm".into(),
                    build_command: Some("cargo build -p a".into()),
                    triggers: vec![Trigger::Http],
                },
                AppComponent {
                    id: "b".into(),
                    source: "b.wasm".into(),
                    path: "/app/b.wasm".into(),
                    build_command: None,
                    triggers: vec![Trigger::Redis],
                },
            ]
        );
    }

    #[test]
    fn a_missing_file_fails_saying_how_to_build_it() {
        let component = AppComponent {
            id: "accounts".into(),
            source: "target/wasm32-wasip2/release/no_such_component.wasm".into(),
            path: workspace_root().join("target/wasm32-wasip2/release/no_such_component.wasm"),
            build_command: Some("cargo build --target wasm32-wasip2 --release -p x".into()),
            triggers: vec![Trigger::Http],
        };
        let message = world().check_component(&component).unwrap_err().to_string();
        assert!(
            message.contains("`accounts`")
                && message.contains("target/wasm32-wasip2/release/no_such_component.wasm")
                && message.contains("scripts/setup")
                && message.contains("cargo build --target wasm32-wasip2 --release -p x"),
            "{message}"
        );
    }

    #[test]
    fn a_failure_names_the_component_and_every_offence_in_one_message() {
        let bytes = component(
            &format!(
                r#"package test:p3;
                world p3 {{
                    import spin:key-value/key-value@3.0.0;
                    export wasi:http/handler@0.3.0-rc-2026-03-15;
                }}
                {WASIP3_PACKAGES}"#
            ),
            "p3",
            true,
        );
        let path = std::env::temp_dir().join(format!("world-check-{}-p3.wasm", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let component = AppComponent {
            id: "cart".into(),
            source: "target/wasm32-wasip2/release/cart_api.wasm".into(),
            path: path.clone(),
            build_command: None,
            triggers: vec![Trigger::Http],
        };
        let result = world().check_component(&component);
        std::fs::remove_file(&path).unwrap();
        let message = result.unwrap_err().to_string();
        for needle in [
            "component `cart` (target/wasm32-wasip2/release/cart_api.wasm)",
            "import `spin:key-value/key-value@3.0.0`",
            "import `wasi:http/types@0.3.0-rc-2026-03-15`",
            "export `wasi:http/handler@0.3.0-rc-2026-03-15`",
            "http trigger",
        ] {
            assert!(message.contains(needle), "{needle:?} not in:\n{message}");
        }
    }
}
