//! The example flow folder shipped in `ivr-flows/` (the support line of IVR-FLOWS.md §10 and
//! its companions), embedded so `serve --demo` can give the demo tenant a working folder.

use std::path::Path;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "ivr-flows/"]
#[include = "*.yaml"]
#[include = "flows/**/*.yaml"]
struct Example;

/// The recorded prompts the example plays, installed as the folder's `sounds/`.
#[derive(RustEmbed)]
#[folder = "sounds/"]
struct ExampleSounds;

/// Queues the example's flows send callers to; the demo tenant gets them.
pub const QUEUES: [&str; 5] = ["billing", "tech", "orders", "support-general", "reception"];

/// Skills the example's queue nodes require (IVR015): the demo tenant's agents hold them.
pub const SKILLS: [&str; 3] = ["billing", "internet", "tv"];

/// The extension the example's operator transfer rings (IVR015): the demo tenant has it.
pub const OPERATOR_EXTENSION: &str = "4000";

/// Writes the example folder into `dir` unless `dir` already holds a folder (an admin's
/// edits are never overwritten). Returns whether it wrote anything.
pub fn install(dir: &Path) -> std::io::Result<bool> {
    if dir.join("routes.yaml").exists() || dir.join("flows").exists() {
        return Ok(false);
    }
    for name in Example::iter() {
        let Some(file) = Example::get(&name) else {
            continue;
        };
        let target = dir.join(name.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, file.data.as_ref())?;
    }
    for name in ExampleSounds::iter() {
        let Some(file) = ExampleSounds::get(&name) else {
            continue;
        };
        let target = dir.join("sounds").join(name.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, file.data.as_ref())?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_example_validates_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        assert!(install(dir.path()).unwrap());
        let sources = super::super::service::read_folder(dir.path()).unwrap();
        assert!(sources.routes.is_some());
        assert!(
            sources
                .flows
                .iter()
                .any(|f| f.path == "flows/support-main.yaml")
        );
        let options = super::super::ValidateOptions {
            sounds: Some(super::super::load_sounds(&dir.path().join("sounds")).unwrap()),
            queues: Some(QUEUES.iter().map(|q| q.to_string()).collect()),
            skills: Some(SKILLS.iter().map(|s| (s.to_string(), 5)).collect()),
            extensions: Some([OPERATOR_EXTENSION.to_owned()].into()),
            ..Default::default()
        };
        let report = super::super::validate_with(&sources, chrono::Utc::now(), &options);
        assert!(report.valid, "{:?}", report.errors);
        std::fs::write(dir.path().join("routes.yaml"), "edited").unwrap();
        assert!(!install(dir.path()).unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("routes.yaml")).unwrap(),
            "edited"
        );
    }
}
