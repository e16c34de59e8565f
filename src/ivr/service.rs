//! The live side of IVR flows: each tenant's flow folder on disk, the version that is
//! published, edits and publishes from the admin, and hot reload when files change on disk.
//!
//! A tenant's folder is `{ivr.dir}/{tenant slug}/` in the layout of IVR-FLOWS.md §1
//! (`routes.yaml`, `schedules.yaml`, `voices.yaml`, `flows/**/*.yaml`). The files are the
//! source of truth; the database keeps every published snapshot (history, and what to keep
//! running when the folder on disk turns invalid). A publish is atomic: the file is written
//! beside its target and renamed over it, then the new [`Published`] replaces the old one
//! behind an `Arc`, so calls that hold the old one keep their version to the end.
//!
//! Single node: the watcher sees only this machine's disk. Several instances must share the
//! folder (or deploy it with the binary) and publish through one of them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Report, SourceFile, Sources, ValidateOptions, validate_with};
use crate::domain::{TenantId, UserId};
use crate::store::{self, Store, StoreError};

/// Why a flow operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The path is not one a flow folder may hold.
    #[error("{0}")]
    BadPath(String),
    /// The folder changed since the caller read it.
    #[error(
        "the flows changed since you opened them (now {current}); reload and apply your edit again"
    )]
    Stale {
        /// The folder's digest now.
        current: String,
    },
    /// The folder would not be valid; nothing was written.
    #[error("{} error(s): {}", .0.errors.len(), .0.errors.first().map(|d| format!("{} {}: {}", d.code, d.file, d.message)).unwrap_or_default())]
    Invalid(Report),
    /// No such file in the folder.
    #[error("no file {0}")]
    NotFound(String),
    /// Reading or writing the folder failed.
    #[error("flow folder: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A published version of a tenant's folder.
#[derive(Debug, Clone)]
pub struct Published {
    /// 1, 2, 3 … per tenant.
    pub version: i64,
    /// sha-256 (hex) of the folder.
    pub digest: String,
    /// The files as published.
    pub sources: Arc<Sources>,
    /// The validator's report (no errors; maybe warnings).
    pub report: Report,
    /// The compiled flows calls run with the interpreter; a call keeps the `Arc` it started
    /// with, so a publish never changes a call in progress.
    pub catalog: Arc<super::Catalog>,
    /// When it went live.
    pub published_at: DateTime<Utc>,
}

impl Published {
    /// Nothing published: no flows, no routes (calls placed from the inbox need none).
    pub fn empty() -> Self {
        let sources = Sources::default();
        Published {
            version: 0,
            digest: digest(&sources),
            sources: Arc::new(sources),
            report: Report {
                valid: true,
                ..Report::default()
            },
            catalog: Arc::new(super::Catalog::empty()),
            published_at: Utc::now(),
        }
    }
}

/// A change on disk that was refused because it does not validate.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// The folder's digest then.
    pub digest: String,
    /// Why.
    pub report: Report,
}

/// One tenant's folder as the admin sees it.
#[derive(Debug, Clone)]
pub struct FolderState {
    /// The files on disk now.
    pub sources: Sources,
    /// Their digest.
    pub digest: String,
    /// The validator's report on them.
    pub report: Report,
    /// What calls run.
    pub live: Option<Arc<Published>>,
    /// The last change on disk that was refused, while the disk still differs from `live`.
    pub rejected: Option<Rejected>,
}

#[derive(Default)]
struct TenantFlows {
    live: Option<Arc<Published>>,
    rejected: Option<Rejected>,
}

/// Every tenant's flows.
pub struct FlowService {
    root: PathBuf,
    egress_allowlist: Option<Vec<String>>,
    store: Store,
    tenants: RwLock<HashMap<TenantId, TenantFlows>>,
    // Publishes of one process are applied one at a time so "read, check, write" holds.
    write: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for FlowService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowService")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl FlowService {
    /// A service over `root` (`ivr.dir`); nothing is read until [`Self::start`] or a request.
    /// `egress_allowlist` (`ivr.http_allowlist`) limits the hosts `http` nodes may call.
    pub fn new(root: PathBuf, egress_allowlist: Option<Vec<String>>, store: Store) -> Self {
        Self {
            root,
            egress_allowlist,
            store,
            tenants: RwLock::new(HashMap::new()),
            write: tokio::sync::Mutex::new(()),
        }
    }

    /// The folder holding every tenant's flow folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A tenant's flow folder.
    pub fn tenant_dir(&self, slug: &str) -> PathBuf {
        self.root.join(slug)
    }

    /// The version calls of this tenant start with now.
    pub async fn live(&self, tenant: TenantId) -> Result<Option<Arc<Published>>, FlowError> {
        self.ensure_loaded(tenant).await?;
        Ok(self.read().get(&tenant).and_then(|t| t.live.clone()))
    }

    /// The tenant a dialled number belongs to, with the version its call starts with and the
    /// route: the tenant whose `routes.yaml` lists the DID exactly, else the one with the
    /// longest matching `did_prefix` (a DID must be claimed by one tenant; publish refuses
    /// another tenant's exact DID). Only tenants loaded (all of them after [`Self::start`]).
    pub fn route_did(
        &self,
        did: &str,
    ) -> Option<(TenantId, Arc<Published>, super::catalog::RouteMatch)> {
        let tenants = self.read();
        let mut best: Option<(usize, TenantId, Arc<Published>, super::catalog::RouteMatch)> = None;
        for (tenant, flows) in tenants.iter() {
            let Some(live) = &flows.live else { continue };
            let Some(route) = live.catalog.route(did) else {
                continue;
            };
            // Exact DIDs outrank any prefix; among prefixes the longest wins.
            let strength = if live.catalog.claims_exactly(did) {
                usize::MAX
            } else {
                live.catalog.prefix_len(did)
            };
            if best
                .as_ref()
                .is_none_or(|(s, t, ..)| strength > *s || (strength == *s && tenant < t))
            {
                best = Some((strength, *tenant, live.clone(), route));
            }
        }
        best.map(|(_, t, live, route)| (t, live, route))
    }

    /// The folder on disk, its report, and what is live.
    pub async fn folder(&self, tenant: TenantId) -> Result<FolderState, FlowError> {
        self.ensure_loaded(tenant).await?;
        let dir = self.dir_of(tenant).await?;
        let sources = read_folder(&dir)?;
        let digest = digest(&sources);
        let report = self.validate(tenant, &dir, &sources).await?;
        let tenants = self.read();
        let entry = tenants.get(&tenant);
        let live = entry.and_then(|t| t.live.clone());
        let rejected = entry
            .and_then(|t| t.rejected.clone())
            .filter(|r| r.digest == digest);
        Ok(FolderState {
            sources,
            digest,
            report,
            live,
            rejected,
        })
    }

    /// Validates the folder as it would be with `path` holding `text` (or removed when
    /// `text` is `None`), writing nothing.
    pub async fn check_edit(
        &self,
        tenant: TenantId,
        path: &str,
        text: Option<&str>,
    ) -> Result<Report, FlowError> {
        let rel = checked_path(path)?;
        let dir = self.dir_of(tenant).await?;
        let sources = with_edit(read_folder(&dir)?, &rel, text);
        self.validate(tenant, &dir, &sources).await
    }

    /// Writes `path` (or removes it when `text` is `None`) and publishes the folder, if the
    /// result validates. `base_digest` guards against overwriting someone else's change.
    pub async fn publish(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        path: &str,
        text: Option<&str>,
        base_digest: Option<&str>,
    ) -> Result<Arc<Published>, FlowError> {
        let rel = checked_path(path)?;
        let _guard = self.write.lock().await;
        let dir = self.dir_of(tenant).await?;
        let current = read_folder(&dir)?;
        let current_digest = digest(&current);
        if let Some(base) = base_digest
            && base != current_digest
        {
            return Err(FlowError::Stale {
                current: current_digest,
            });
        }
        if text.is_none() && !current_has(&current, &rel) {
            return Err(FlowError::NotFound(rel));
        }
        let sources = with_edit(current, &rel, text);
        let report = self.validate(tenant, &dir, &sources).await?;
        if !report.valid {
            return Err(FlowError::Invalid(report));
        }
        let target = dir.join(&rel);
        match text {
            Some(text) => write_atomically(&target, text)?,
            None => std::fs::remove_file(&target)?,
        }
        // What is now on disk is what gets published (it may differ only by files the
        // edit did not touch changing at the same moment).
        let sources = read_folder(&dir)?;
        let report = self.validate(tenant, &dir, &sources).await?;
        if !report.valid {
            return Err(FlowError::Invalid(report));
        }
        self.record(tenant, sources, report, "api", Some(&rel), user)
            .await
    }

    /// Re-reads one tenant's folder (a change on disk): publishes it when it validates and
    /// differs from what is live, else keeps the live version and remembers the refusal.
    pub async fn reload(&self, tenant: TenantId) -> Result<ReloadOutcome, FlowError> {
        let _guard = self.write.lock().await;
        self.ensure_loaded_locked(tenant).await?;
        self.reload_locked(tenant, "disk").await
    }

    /// Loads every tenant folder under the root and publishes what changed since the last
    /// run; then watches the root and reloads a tenant's folder when its files change.
    pub async fn start(self: &Arc<Self>) -> Result<(), FlowError> {
        if self.root.is_dir() {
            for entry in std::fs::read_dir(&self.root)? {
                let entry = entry?;
                if !entry.path().is_dir() {
                    continue;
                }
                let slug = entry.file_name().to_string_lossy().into_owned();
                if let Some(tenant) =
                    store::tenants::find_tenant_by_slug(&self.store, &slug).await?
                {
                    let id = tenant.id;
                    if let Err(e) = self.live(id).await {
                        tracing::warn!(tenant = %slug, error = %e, "cannot load IVR flows");
                    }
                }
            }
        }
        self.spawn_watcher();
        Ok(())
    }

    fn spawn_watcher(self: &Arc<Self>) {
        use notify::{RecursiveMode, Watcher};

        if std::fs::create_dir_all(&self.root).is_err() {
            tracing::warn!(dir = %self.root.display(), "IVR flow folder cannot be created; hot reload is off");
            return;
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let mut watcher = match notify::recommended_watcher(
            move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && !matches!(event.kind, notify::EventKind::Access(_))
                {
                    for path in event.paths {
                        let _ = tx.send(path);
                    }
                }
            },
        ) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "IVR flow folder cannot be watched; hot reload is off");
                return;
            }
        };
        if let Err(e) = watcher.watch(&self.root, RecursiveMode::Recursive) {
            tracing::warn!(error = %e, "IVR flow folder cannot be watched; hot reload is off");
            return;
        }
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            // The watcher lives as long as this task: dropping it stops the notifications.
            let _watcher = watcher;
            while let Some(first) = rx.recv().await {
                // Editors save in several steps (temp file, rename, chmod): wait for quiet.
                let mut paths = vec![first];
                while let Ok(Some(p)) =
                    tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
                {
                    paths.push(p);
                }
                let Some(service) = service.upgrade() else {
                    return;
                };
                let mut slugs: Vec<String> = paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(&service.root).ok())
                    .filter_map(|rel| rel.components().next())
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .collect();
                slugs.sort();
                slugs.dedup();
                for slug in slugs {
                    service.reload_slug(&slug).await;
                }
            }
        });
    }

    async fn reload_slug(&self, slug: &str) {
        let tenant = match store::tenants::find_tenant_by_slug(&self.store, slug).await {
            Ok(Some(t)) => t.id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(tenant = %slug, error = %e, "IVR reload: tenant lookup failed");
                return;
            }
        };
        match self.reload(tenant).await {
            Ok(ReloadOutcome::Published(p)) => {
                tracing::info!(tenant = %slug, version = p.version, "IVR flows reloaded from disk")
            }
            Ok(ReloadOutcome::Rejected(report)) => tracing::warn!(
                tenant = %slug,
                errors = report.errors.len(),
                first = report.errors.first().map(|d| format!("{}:{} {}", d.file, d.code, d.message)).unwrap_or_default(),
                "IVR flows on disk are invalid; the published version stays live"
            ),
            Ok(ReloadOutcome::Unchanged) => {}
            Err(e) => tracing::warn!(tenant = %slug, error = %e, "IVR reload failed"),
        }
    }

    async fn ensure_loaded(&self, tenant: TenantId) -> Result<(), FlowError> {
        if self.read().contains_key(&tenant) {
            return Ok(());
        }
        let _guard = self.write.lock().await;
        self.ensure_loaded_locked(tenant).await
    }

    /// First sight of a tenant: what was last published is live again, then the disk is
    /// compared with it (a change made while we were down is published now, or refused).
    async fn ensure_loaded_locked(&self, tenant: TenantId) -> Result<(), FlowError> {
        if self.read().contains_key(&tenant) {
            return Ok(());
        }
        let mut entry = TenantFlows::default();
        if let Some(last) = store::ivr::list_publications(&self.store, tenant, 1)
            .await?
            .into_iter()
            .next()
            && let Some((record, files)) =
                store::ivr::get_publication(&self.store, tenant, last.version).await?
        {
            let sources = sources_from_snapshot(&files);
            // It was valid when published; compiled again here, its report keeps the warnings.
            match super::compile(&sources, Utc::now()) {
                (Some(catalog), report) => {
                    entry.live = Some(Arc::new(Published {
                        version: record.version,
                        digest: record.digest,
                        sources: Arc::new(sources),
                        report,
                        catalog: Arc::new(catalog),
                        published_at: record.published_at,
                    }));
                }
                (None, report) => tracing::warn!(
                    tenant.id = %tenant,
                    version = record.version,
                    errors = report.errors.len(),
                    "the last published IVR version no longer compiles; the folder on disk decides"
                ),
            }
        }
        self.write_map().insert(tenant, entry);
        self.reload_locked(tenant, "start").await?;
        Ok(())
    }

    async fn reload_locked(
        &self,
        tenant: TenantId,
        source: &str,
    ) -> Result<ReloadOutcome, FlowError> {
        let dir = self.dir_of(tenant).await?;
        let sources = read_folder(&dir)?;
        if sources.flows.is_empty() && sources.routes.is_none() {
            return Ok(ReloadOutcome::Unchanged);
        }
        let folder_digest = digest(&sources);
        let live_digest = self
            .read()
            .get(&tenant)
            .and_then(|t| t.live.as_ref().map(|p| p.digest.clone()));
        if live_digest.as_deref() == Some(folder_digest.as_str()) {
            if let Some(t) = self.write_map().get_mut(&tenant) {
                t.rejected = None;
            }
            return Ok(ReloadOutcome::Unchanged);
        }
        let report = self.validate(tenant, &dir, &sources).await?;
        if !report.valid {
            if let Some(t) = self.write_map().get_mut(&tenant) {
                t.rejected = Some(Rejected {
                    at: Utc::now(),
                    digest: folder_digest,
                    report: report.clone(),
                });
            }
            return Ok(ReloadOutcome::Rejected(report));
        }
        let published = self
            .record(tenant, sources, report, source, None, None)
            .await?;
        Ok(ReloadOutcome::Published(published))
    }

    async fn record(
        &self,
        tenant: TenantId,
        sources: Sources,
        report: Report,
        source: &str,
        path: Option<&str>,
        user: Option<UserId>,
    ) -> Result<Arc<Published>, FlowError> {
        let digest = digest(&sources);
        // `report` came from the platform-aware validation; compiling repeats the offline
        // part, which a folder that passed the stricter check always passes.
        let catalog = match super::compile(&sources, Utc::now()) {
            (Some(catalog), _) => catalog,
            (None, report) => return Err(FlowError::Invalid(report)),
        };
        let files = snapshot(&sources);
        let record = store::ivr::insert_publication(
            &self.store,
            tenant,
            store::ivr::NewPublication {
                digest: &digest,
                source,
                path,
                published_by: user,
                files: &files,
                warnings: i64::try_from(report.warnings.len()).unwrap_or(i64::MAX),
            },
        )
        .await?;
        let published = Arc::new(Published {
            version: record.version,
            digest,
            sources: Arc::new(sources),
            report,
            catalog: Arc::new(catalog),
            published_at: record.published_at,
        });
        let mut map = self.write_map();
        let entry = map.entry(tenant).or_default();
        entry.live = Some(published.clone());
        entry.rejected = None;
        Ok(published)
    }

    /// What only the platform knows, for checks an offline `flows check` skips: the tenant's
    /// recorded prompts (`{folder}/sounds/`), its queues, and the HTTP egress allow-list.
    async fn options(&self, tenant: TenantId, dir: &Path) -> Result<ValidateOptions, FlowError> {
        let sounds_dir = dir.join("sounds");
        let sounds = if sounds_dir.is_dir() {
            super::load_sounds(&sounds_dir)?
        } else {
            super::SoundIndex::default()
        };
        let queues = store::queues::list_queues(&self.store, tenant)
            .await?
            .into_iter()
            .map(|q| q.name)
            .collect();
        // Each skill with the highest level an agent of the tenant holds it at.
        let mut skills: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for agent in store::agents::list_agents(&self.store, tenant).await? {
            for (skill, level) in agent.skills {
                let best = skills.entry(skill).or_insert(level);
                *best = (*best).max(level);
            }
        }
        let extensions = store::extensions::list_extensions(&self.store, tenant)
            .await?
            .into_iter()
            .map(|x| x.number)
            .collect();
        let max_dids = store::tenants::get_tenant(&self.store, tenant)
            .await?
            .limits
            .max_dids;
        let dids_elsewhere = self
            .read()
            .iter()
            .filter(|(t, _)| **t != tenant)
            .filter_map(|(_, f)| f.live.as_ref())
            .flat_map(|live| live.catalog.dids().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        Ok(ValidateOptions {
            egress_allowlist: self.egress_allowlist.clone(),
            secrets: None,
            sounds: Some(sounds),
            queues: Some(queues),
            skills: Some(skills),
            extensions: Some(extensions),
            dids_elsewhere: Some(dids_elsewhere),
            max_dids: usize::try_from(max_dids).ok(),
        })
    }

    async fn validate(
        &self,
        tenant: TenantId,
        dir: &Path,
        sources: &Sources,
    ) -> Result<Report, FlowError> {
        let options = self.options(tenant, dir).await?;
        Ok(validate_with(sources, Utc::now(), &options))
    }

    async fn dir_of(&self, tenant: TenantId) -> Result<PathBuf, FlowError> {
        let t = store::tenants::get_tenant(&self.store, tenant).await?;
        Ok(self.tenant_dir(&t.slug))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<TenantId, TenantFlows>> {
        self.tenants.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<TenantId, TenantFlows>> {
        self.tenants.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The disk matches what is live.
    Unchanged,
    /// A new version went live.
    Published(Arc<Published>),
    /// The disk is invalid; the live version stays.
    Rejected(Report),
}

/// Reads a tenant folder with paths relative to it (`routes.yaml`, `flows/support-main.yaml`),
/// which is how the admin names files and how diagnostics point at them.
pub fn read_folder(dir: &Path) -> std::io::Result<Sources> {
    super::read_sources(dir, &|path| {
        path.strip_prefix(dir)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    })
}

/// sha-256 over every file's path and text, in path order.
pub fn digest(sources: &Sources) -> String {
    let mut hasher = Sha256::new();
    for file in all_files(sources) {
        hasher.update(file.path.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// Every file of a folder, `routes.yaml`, `schedules.yaml`, `voices.yaml`, then the flows.
pub fn all_files(sources: &Sources) -> impl Iterator<Item = &SourceFile> {
    sources
        .routes
        .iter()
        .chain(&sources.schedules)
        .chain(&sources.voices)
        .chain(&sources.flows)
}

fn snapshot(sources: &Sources) -> serde_json::Value {
    let map: BTreeMap<&str, &str> = all_files(sources)
        .map(|f| (f.path.as_str(), f.text.as_str()))
        .collect();
    serde_json::json!(map)
}

fn sources_from_snapshot(files: &str) -> Sources {
    let map: BTreeMap<String, String> = serde_json::from_str(files).unwrap_or_default();
    let mut sources = Sources::default();
    for (path, text) in map {
        sources = with_edit(sources, &path, Some(&text));
    }
    sources
}

fn current_has(sources: &Sources, rel: &str) -> bool {
    all_files(sources).any(|f| f.path == rel)
}

/// The folder with one file replaced, added or (text `None`) removed.
fn with_edit(mut sources: Sources, rel: &str, text: Option<&str>) -> Sources {
    let file = text.map(|t| SourceFile {
        path: rel.to_owned(),
        text: t.to_owned(),
    });
    match rel {
        "routes.yaml" => sources.routes = file,
        "schedules.yaml" => sources.schedules = file,
        "voices.yaml" => sources.voices = file,
        _ => {
            sources.flows.retain(|f| f.path != rel);
            if let Some(file) = file {
                sources.flows.push(file);
                sources.flows.sort_by(|a, b| a.path.cmp(&b.path));
            }
        }
    }
    sources
}

/// The paths a flow folder may hold: the three fixed files and `flows/<id>.yaml`, where each
/// part of the id is a lowercase name (`common/after-hours`). Anything else — `..`, absolute
/// paths, other extensions — is refused before the disk is touched.
pub fn checked_path(path: &str) -> Result<String, FlowError> {
    let path = path.trim();
    if matches!(path, "routes.yaml" | "schedules.yaml" | "voices.yaml") {
        return Ok(path.to_owned());
    }
    let bad = || {
        FlowError::BadPath(format!(
            "`{path}` is not a flow folder file: use routes.yaml, schedules.yaml, voices.yaml or flows/<id>.yaml (lowercase letters, digits, '-' and '_'; sub-folders with '/')"
        ))
    };
    let rest = path.strip_prefix("flows/").ok_or_else(bad)?;
    let stem = rest.strip_suffix(".yaml").ok_or_else(bad)?;
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.len() <= 64
            && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if stem.split('/').count() > 4 || !stem.split('/').all(ok_part) {
        return Err(bad());
    }
    Ok(path.to_owned())
}

/// Writes beside the target and renames over it, so readers (Asterisk, the watcher, an
/// editor) never see half a file.
fn write_atomically(target: &Path, text: &str) -> std::io::Result<()> {
    let dir = target
        .parent()
        .ok_or_else(|| std::io::Error::other("file without a folder"))?;
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, target).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flow_folder_paths_are_accepted() {
        for ok in [
            "routes.yaml",
            "voices.yaml",
            "schedules.yaml",
            "flows/support-main.yaml",
            "flows/common/after-hours.yaml",
        ] {
            assert_eq!(checked_path(ok).unwrap(), ok);
        }
        for bad in [
            "../etc/passwd",
            "flows/../routes.yaml",
            "/flows/x.yaml",
            "flows/x.yml.txt",
            "flows/Upper.yaml",
            "flows/.hidden.yaml",
            "flows//x.yaml",
            "other.yaml",
            "flows/x.json",
        ] {
            assert!(checked_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn edits_replace_add_and_remove_files() {
        let base = Sources {
            routes: Some(SourceFile {
                path: "routes.yaml".into(),
                text: "a".into(),
            }),
            flows: vec![SourceFile {
                path: "flows/b.yaml".into(),
                text: "b".into(),
            }],
            ..Sources::default()
        };
        let d0 = digest(&base);
        let added = with_edit(base.clone(), "flows/a.yaml", Some("x"));
        assert_eq!(
            added
                .flows
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>(),
            ["flows/a.yaml", "flows/b.yaml"]
        );
        assert_ne!(digest(&added), d0);
        let removed = with_edit(added, "flows/a.yaml", None);
        assert_eq!(digest(&removed), d0);
        let snap = snapshot(&removed);
        assert_eq!(digest(&sources_from_snapshot(&snap.to_string())), d0);
    }
}
