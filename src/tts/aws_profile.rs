//! The shared AWS files (`~/.aws/credentials`, `~/.aws/config`), the part of the usual AWS
//! credential chain that applies to a service on a host: after the environment variables,
//! the named profile (`AWS_PROFILE`, else `default`) of the credentials file, and the region
//! from the config file. Instance and container roles (IMDS, ECS) are not read: give the
//! service keys through the environment or a profile there.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One profile's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `aws_session_token`.
    pub session_token: Option<String>,
    /// `region` (config file).
    pub region: Option<String>,
}

/// Sections of an AWS INI file: `[name]` → key → value. In the config file, profiles other
/// than `default` are written `[profile name]`; this returns them under `name`.
pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            let name = name.strip_prefix("profile ").unwrap_or(name).trim();
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    sections
}

/// The profile named by `AWS_PROFILE` (else `default`) from the files the AWS CLI uses:
/// `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else
/// `~/.aws/config`). Missing files give an empty profile.
pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Profile {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let home = var("HOME").map(PathBuf::from);
    let file = |override_var: &str, default: &str| -> Option<PathBuf> {
        var(override_var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let read = |path: Option<PathBuf>| {
        path.and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| parse_ini(&t))
            .unwrap_or_default()
    };
    let name = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let credentials = read(file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
    let config = read(file("AWS_CONFIG_FILE", "config"));
    let from = |sections: &BTreeMap<String, BTreeMap<String, String>>, key: &str| {
        sections
            .get(&name)
            .and_then(|s| s.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    Profile {
        // The config file may hold keys too; the credentials file wins, as in the AWS CLI.
        access_key_id: from(&credentials, "aws_access_key_id")
            .or_else(|| from(&config, "aws_access_key_id")),
        secret_access_key: from(&credentials, "aws_secret_access_key")
            .or_else(|| from(&config, "aws_secret_access_key")),
        session_token: from(&credentials, "aws_session_token")
            .or_else(|| from(&config, "aws_session_token")),
        region: from(&config, "region").or_else(|| from(&credentials, "region")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_the_credentials_and_config_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "# keys\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key=sekrit\n\n[tts]\naws_access_key_id = AKIDTTS\naws_secret_access_key = other\naws_session_token = tok\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[default]\nregion = us-east-1\n; the TTS account\n[profile tts]\nregion = eu-west-1\n",
        )
        .unwrap();
        let home = dir.path().display().to_string();
        let env = |profile: Option<&'static str>| {
            let home = home.clone();
            move |k: &str| match k {
                "HOME" => Some(home.clone()),
                "AWS_PROFILE" => profile.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(
            load(&env(None)),
            Profile {
                access_key_id: Some("AKIDDEFAULT".into()),
                secret_access_key: Some("sekrit".into()),
                session_token: None,
                region: Some("us-east-1".into()),
            }
        );
        let tts = load(&env(Some("tts")));
        assert_eq!(tts.access_key_id.as_deref(), Some("AKIDTTS"));
        assert_eq!(tts.session_token.as_deref(), Some("tok"));
        assert_eq!(tts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(load(&env(Some("nope"))), Profile::default());
        // No home, no files: nothing, and no error.
        assert_eq!(load(&|_| None), Profile::default());
    }
}
