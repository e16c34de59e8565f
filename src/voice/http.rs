//! Extensions (agents' phones) over HTTP: CRUD, the SIP password (shown once), provisioning
//! into Asterisk with a retry, and the tenant's `pjsip.conf` include, for admins; and the
//! phone directory, which every member reads (numbers, names, who takes calls now, nothing
//! about SIP).
//!
//! Every change is pushed at once when an Asterisk is configured; the outcome is stored on
//! the extension, so a failed push is visible in the list and can be retried.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::provision::{
    DEFAULT_CODECS, KNOWN_CODECS, NOT_CONFIGURED, PjsipExtension, ProvisionError, object_id,
};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, AnyMember, TenantScope};
use crate::domain::{TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::store;
use crate::store::extensions::{ExtensionFields, ExtensionRecord};
use crate::store::tenants::Tenant;
use crate::voice::calls::{DeviceState, PhoneActivity};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_extensions, create_extension))
        .routes(routes!(pjsip_include))
        .routes(routes!(get_extension, update_extension, delete_extension))
        .routes(routes!(change_password))
        .routes(routes!(retry_provisioning))
        .routes(routes!(phone_directory))
}

/// Where an extension stands with Asterisk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisioningView {
    /// `provisioned`, `failed` (see `message`; retry with POST …/provision), `pending` (not
    /// pushed yet), `disabled` (removed from Asterisk), `skipped` (no Asterisk configured).
    pub state: &'static str,
    /// The error of the last failed push, or why nothing was pushed.
    pub message: Option<String>,
    /// Last successful push (UTC).
    pub provisioned_at: Option<DateTime<Utc>>,
}

/// An extension. The SIP password is never returned, except once in `password` right after
/// it was created or changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionView {
    /// Extension id.
    pub id: i64,
    /// 2–10 digits, unique in the tenant.
    pub number: String,
    /// The SIP username and PJSIP id: `{tenant slug}-{number}`.
    pub sip_username: String,
    /// Caller id name.
    pub display_name: String,
    /// The agent using this phone.
    pub user_id: Option<i64>,
    /// That agent's name.
    pub user_name: Option<String>,
    /// Codecs in preference order.
    pub codecs: Vec<String>,
    /// NAT traversal (`rtp_symmetric`, `force_rport`, `rewrite_contact`).
    pub nat: bool,
    /// Simultaneous calls before the phone reads busy (1–10).
    pub call_limit: i64,
    /// Voicemail box.
    pub voicemail_box: Option<String>,
    /// Where calls go instead: E.164 or another extension.
    pub forward_to: Option<String>,
    /// Do not disturb.
    pub dnd: bool,
    /// Off: removed from Asterisk.
    pub enabled: bool,
    /// Provisioning state.
    pub provisioning: ProvisioningView,
    /// Whether the phone is registered with Asterisk now (`online`/`offline`, with since
    /// when); `null` while Asterisk has said nothing about it.
    pub registration: Option<crate::voice::calls::PhoneState>,
    /// What the phone is doing now: Asterisk's device state (`DeviceStateChanged`), else
    /// what the calls Switchboard sees say; `null` while nothing is known.
    pub device_state: Option<DeviceState>,
    /// Calls the phone is on or being rung for now (the channels Asterisk lists on the
    /// endpoint, else those Switchboard sees); 0 when idle.
    pub active_calls: u32,
    /// The SIP password, only in the answer that created or changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

/// The tenant's extensions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionList {
    /// By number.
    pub items: Vec<ExtensionView>,
    /// Whether an Asterisk is configured to push to.
    pub asterisk_configured: bool,
}

/// An extension to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExtension {
    /// 2–10 digits.
    pub number: String,
    /// Caller id name (1–80 characters, none of `" < > ; \`).
    pub display_name: String,
    /// A member of the tenant.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// At least 12 characters; omitted: one is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
    /// Codecs in preference order; default `g722, ulaw, alaw` (Opus needs a transcoder).
    #[serde(default)]
    pub codecs: Option<Vec<String>>,
    /// NAT traversal; default on.
    #[serde(default)]
    pub nat: Option<bool>,
    /// 1–10; default 2.
    #[serde(default)]
    pub call_limit: Option<i64>,
    /// Voicemail box (1–10 digits).
    #[serde(default)]
    pub voicemail_box: Option<String>,
    /// E.164 (`+14155550100`) or another extension's number.
    #[serde(default)]
    pub forward_to: Option<String>,
    /// Do not disturb; default off.
    #[serde(default)]
    pub dnd: Option<bool>,
    /// Default on.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Present-and-null versus absent, for fields a PATCH can clear.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to an extension; omitted fields stay, `null` clears the nullable ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionPatch {
    /// New number (the PJSIP objects are re-created under the new id).
    pub number: Option<String>,
    /// Caller id name.
    pub display_name: Option<String>,
    /// The agent, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<Option<i64>>,
    /// Codecs in preference order.
    pub codecs: Option<Vec<String>>,
    /// NAT traversal.
    pub nat: Option<bool>,
    /// 1–10.
    pub call_limit: Option<i64>,
    /// Voicemail box, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub voicemail_box: Option<Option<String>>,
    /// Forwarding target, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub forward_to: Option<Option<String>>,
    /// Do not disturb.
    pub dnd: Option<bool>,
    /// On or off.
    pub enabled: Option<bool>,
}

/// A new SIP password: given, or generated when omitted.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// At least 12 characters; omitted: one is generated.
    #[serde(default)]
    pub password: Option<String>,
}

/// Options of the include file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeParams {
    /// Inherit the `agent-*` templates of Switchboard's `asterisk/pjsip.conf` (default);
    /// `false` writes standalone sections for a pjsip.conf without them.
    #[serde(default = "yes")]
    pub templates: bool,
}

fn yes() -> bool {
    true
}

fn view(state: &AppState, tenant: &Tenant, r: ExtensionRecord) -> ExtensionView {
    let activity = state
        .voice
        .phone_activity(&object_id(&tenant.slug, &r.number), r.call_limit);
    view_with(state, tenant, r, activity)
}

fn view_with(
    state: &AppState,
    tenant: &Tenant,
    r: ExtensionRecord,
    activity: PhoneActivity,
) -> ExtensionView {
    let configured = state.provisioner.is_configured();
    let (st, message) = if let Some(e) = &r.provision_error {
        ("failed", Some(e.clone()))
    } else if !configured {
        ("skipped", Some(NOT_CONFIGURED.to_owned()))
    } else if !r.enabled {
        ("disabled", None)
    } else if r.provisioned_at.is_some() {
        ("provisioned", None)
    } else {
        ("pending", None)
    };
    let sip_username = object_id(&tenant.slug, &r.number);
    ExtensionView {
        id: r.id,
        registration: state.voice.phone_state(&sip_username),
        device_state: activity.device_state,
        active_calls: activity.active_calls,
        sip_username,
        number: r.number,
        display_name: r.display_name,
        user_id: r.user_id,
        user_name: r.user_name,
        codecs: r.codecs,
        nat: r.nat,
        call_limit: r.call_limit,
        voicemail_box: r.voicemail_box,
        forward_to: r.forward_to,
        dnd: r.dnd,
        enabled: r.enabled,
        provisioning: ProvisioningView {
            state: st,
            message,
            provisioned_at: r.provisioned_at,
        },
        password: None,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn is_digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_number(field: &str, n: &str) -> ApiResult<String> {
    if is_digits(n, 2, 10) {
        Ok(n.to_owned())
    } else {
        Err(ApiError::validation(field, "must be 2 to 10 digits"))
    }
}

fn check_display_name(n: &str) -> ApiResult<String> {
    let n = n.trim();
    if n.is_empty() || n.chars().count() > 80 {
        return Err(ApiError::validation(
            "display_name",
            "must be 1–80 characters",
        ));
    }
    // Quotes and angle brackets would break the `"Name" <number>` caller id; `;` starts a
    // comment in pjsip.conf.
    if n.chars()
        .any(|c| c.is_control() || matches!(c, '"' | '<' | '>' | ';' | '\\'))
    {
        return Err(ApiError::validation(
            "display_name",
            "must not contain quotes, < > ; \\ or control characters",
        ));
    }
    Ok(n.to_owned())
}

fn check_codecs(codecs: &[String]) -> ApiResult<Vec<String>> {
    if codecs.is_empty() {
        return Err(ApiError::validation("codecs", "list at least one codec"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, c) in codecs.iter().enumerate() {
        let c = c.trim().to_ascii_lowercase();
        if !KNOWN_CODECS.contains(&c.as_str()) {
            return Err(ApiError::validation(
                &format!("codecs[{i}]"),
                format!("unknown codec; use {}", KNOWN_CODECS.join(", ")),
            ));
        }
        if out.contains(&c) {
            return Err(ApiError::validation(
                &format!("codecs[{i}]"),
                "listed twice",
            ));
        }
        out.push(c);
    }
    Ok(out)
}

fn check_password(p: &str) -> ApiResult<String> {
    let n = p.chars().count();
    if !(12..=128).contains(&n) {
        return Err(ApiError::validation(
            "password",
            "must be 12 to 128 characters",
        ));
    }
    // Printable ASCII only, and nothing pjsip.conf would read as a comment or a quote.
    if !p
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | '"' | '\\'))
    {
        return Err(ApiError::validation(
            "password",
            "use printable ASCII without spaces, ; \" or \\",
        ));
    }
    Ok(p.to_owned())
}

/// 24 characters from an unambiguous alphabet: about 140 bits, beyond any SIP scanner.
fn generate_sip_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// What a request sets, for [`check_fields`]: a kept `forward_to` or `voicemail_box` is not
/// checked again, so deleting the target extension (or data from before a rule) does not block
/// unrelated changes.
struct Changed {
    forward: bool,
    voicemail_box: bool,
    /// The extension being changed (none: a new one).
    extension: Option<i64>,
}

/// Checks and normalises the fields.
async fn check_fields(
    state: &AppState,
    tenant: TenantId,
    f: ExtensionFields,
    changed: Changed,
) -> ApiResult<ExtensionFields> {
    let number = check_number("number", &f.number)?;
    let display_name = check_display_name(&f.display_name)?;
    let codecs = check_codecs(&f.codecs)?;
    if !(1..=10).contains(&f.call_limit) {
        return Err(ApiError::validation(
            "call_limit",
            "must be between 1 and 10",
        ));
    }
    if let Some(user) = f.user_id
        && store::users::find_member(&state.store, tenant, UserId(user))
            .await?
            .is_none()
    {
        return Err(ApiError::validation(
            "user_id",
            "must be a member of this tenant",
        ));
    }
    let voicemail_box = match f.voicemail_box.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) if is_digits(b, 1, 10) => Some(b.to_owned()),
        Some(_) => {
            return Err(ApiError::validation(
                "voicemail_box",
                "must be 1 to 10 digits",
            ));
        }
    };
    // One extension per box: a box is whose phone it is, and the messages left in it are that
    // agent's alone (see `store::calls::MailboxReader`).
    if changed.voicemail_box
        && let Some(b) = &voicemail_box
        && let Some(other) = store::extensions::list_extensions(&state.store, tenant)
            .await?
            .into_iter()
            .find(|x| x.voicemail_box.as_ref() == Some(b) && Some(x.id) != changed.extension)
    {
        return Err(ApiError::validation(
            "voicemail_box",
            format!("is already the box of extension {}", other.number),
        ));
    }
    let forward_to = match f.forward_to.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if t.starts_with('+') => {
            let digits = &t[1..];
            if !is_digits(digits, 7, 15) || digits.starts_with('0') {
                return Err(ApiError::validation(
                    "forward_to",
                    "must be an E.164 number (+ and 7 to 15 digits) or an extension of this tenant",
                ));
            }
            Some(t.to_owned())
        }
        Some(t) => {
            if !is_digits(t, 2, 10) {
                return Err(ApiError::validation(
                    "forward_to",
                    "must be an E.164 number (+ and 7 to 15 digits) or an extension of this tenant",
                ));
            }
            if t == number {
                return Err(ApiError::validation(
                    "forward_to",
                    "cannot forward an extension to itself",
                ));
            }
            let target = if changed.forward {
                store::extensions::find_extension_by_number(&state.store, tenant, t).await?
            } else {
                None
            };
            if changed.forward && target.is_none() {
                return Err(ApiError::validation(
                    "forward_to",
                    format!("no extension {t} in this tenant"),
                ));
            }
            Some(t.to_owned())
        }
    };
    Ok(ExtensionFields {
        number,
        display_name,
        codecs,
        voicemail_box,
        forward_to,
        ..f
    })
}

fn pjsip(state: &AppState, tenant: &Tenant, r: &ExtensionRecord) -> ApiResult<PjsipExtension> {
    let password = state
        .master_key
        .open(&r.sealed_password)
        .map_err(ApiError::internal)?;
    Ok(PjsipExtension::from_record(&tenant.slug, r, password))
}

async fn record_failure(
    state: &AppState,
    tenant: TenantId,
    id: i64,
    e: &ProvisionError,
) -> ApiResult<()> {
    tracing::warn!(tenant.id = %tenant, extension.id = id, error = %e, "extension provisioning failed");
    store::extensions::record_provisioning(&state.store, tenant, id, Err(&e.to_string())).await?;
    Ok(())
}

/// Brings Asterisk in line with the stored extension: pushed when enabled, removed when not
/// (and removed under `old_number` when the number changed). The outcome is stored; a
/// failure is not an error of the request, the extension says what went wrong.
async fn sync(
    state: &AppState,
    tenant: &Tenant,
    id: i64,
    old_number: Option<&str>,
) -> ApiResult<ExtensionRecord> {
    let r = store::extensions::get_extension(&state.store, tenant.id, id).await?;
    if !state.provisioner.is_configured() {
        return Ok(r);
    }
    if let Some(old) = old_number.filter(|old| *old != r.number)
        && let Err(e) = state
            .provisioner
            .remove(&object_id(&tenant.slug, old))
            .await
    {
        record_failure(state, tenant.id, id, &e).await?;
        return Ok(store::extensions::get_extension(&state.store, tenant.id, id).await?);
    }
    let outcome = if r.enabled {
        let pushed = state.provisioner.push(&pjsip(state, tenant, &r)?).await;
        if pushed.is_ok() {
            // A new (or renumbered) phone: its device state is followed from now on.
            state.voice.watch_phone(&object_id(&tenant.slug, &r.number));
        }
        pushed.map(|()| Some(Utc::now()))
    } else {
        state
            .provisioner
            .remove(&object_id(&tenant.slug, &r.number))
            .await
            .map(|()| None)
    };
    match outcome {
        Ok(at) => {
            store::extensions::record_provisioning(&state.store, tenant.id, id, Ok(at)).await?
        }
        Err(e) => record_failure(state, tenant.id, id, &e).await?,
    }
    Ok(store::extensions::get_extension(&state.store, tenant.id, id).await?)
}

/// Lists the tenant's extensions.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/extensions", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = ExtensionList), (status = 403, body = ErrorBody)))]
async fn list_extensions(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<ExtensionList>> {
    let records = store::extensions::list_extensions(&state.store, scope.id()).await?;
    let phones: Vec<(String, i64)> = records
        .iter()
        .map(|r| (object_id(&scope.tenant.slug, &r.number), r.call_limit))
        .collect();
    let activities = state.voice.phone_activities(&phones).await;
    let items = records
        .into_iter()
        .zip(activities)
        .map(|(r, a)| view_with(&state, &scope.tenant, r, a))
        .collect();
    Ok(AppJson(ExtensionList {
        items,
        asterisk_configured: state.provisioner.is_configured(),
    }))
}

/// Creates an extension and provisions it; the answer carries the SIP password once.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/extensions", tag = "extensions", request_body = NewExtension,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = ExtensionView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_extension(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewExtension>,
) -> ApiResult<(StatusCode, AppJson<ExtensionView>)> {
    let password = match &req.password {
        Some(p) => check_password(p)?,
        None => generate_sip_password(),
    };
    let fields = check_fields(
        &state,
        scope.id(),
        req.into_fields(),
        Changed {
            forward: true,
            voicemail_box: true,
            extension: None,
        },
    )
    .await?;
    let r = store::extensions::insert_extension(
        &state.store,
        scope.id(),
        &fields,
        &state.master_key.seal(&password),
    )
    .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.create",
        "extension",
        r.id,
        json!({"number": fields.number, "display_name": fields.display_name, "user_id": fields.user_id}),
    )
    .await?;
    let r = sync(&state, &scope.tenant, r.id, None).await?;
    let mut v = view(&state, &scope.tenant, r);
    v.password = Some(password);
    Ok((StatusCode::CREATED, AppJson(v)))
}

impl NewExtension {
    /// The fields to store, with the defaults for what the request leaves out.
    fn into_fields(self) -> ExtensionFields {
        ExtensionFields {
            number: self.number,
            display_name: self.display_name,
            user_id: self.user_id,
            codecs: self
                .codecs
                .unwrap_or_else(|| DEFAULT_CODECS.iter().map(|c| (*c).to_owned()).collect()),
            nat: self.nat.unwrap_or(true),
            call_limit: self.call_limit.unwrap_or(2),
            voicemail_box: self.voicemail_box,
            forward_to: self.forward_to,
            dnd: self.dnd.unwrap_or(false),
            enabled: self.enabled.unwrap_or(true),
        }
    }
}

/// Gives the demo tenant's `agent` the phone `number`, with a generated SIP password (shown in
/// the admin's Extensions page by resetting it) and pushed like one an admin creates.
pub async fn add_demo_extension(
    state: &AppState,
    tenant: &Tenant,
    number: &str,
    agent: &store::users::Member,
) -> ApiResult<ExtensionRecord> {
    let fields = NewExtension {
        number: number.to_owned(),
        display_name: agent.name.clone(),
        user_id: Some(agent.id.get()),
        ..NewExtension::default()
    }
    .into_fields();
    let r = store::extensions::insert_extension(
        &state.store,
        tenant.id,
        &fields,
        &state.master_key.seal(&generate_sip_password()),
    )
    .await?;
    sync(state, tenant, r.id, None).await
}

/// One extension.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/extensions/{xid}", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id"), ("xid" = i64, Path, description = "extension id")),
    responses((status = 200, body = ExtensionView), (status = 404, body = ErrorBody)))]
async fn get_extension(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ExtensionView>> {
    let r = store::extensions::get_extension(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("extension"))?;
    Ok(AppJson(view(&state, &scope.tenant, r)))
}

/// Changes an extension and pushes the change.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/extensions/{xid}", tag = "extensions", request_body = ExtensionPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("xid" = i64, Path, description = "extension id")),
    responses((status = 200, body = ExtensionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_extension(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<ExtensionPatch>,
) -> ApiResult<AppJson<ExtensionView>> {
    let r = store::extensions::get_extension(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("extension"))?;
    let changed = Changed {
        forward: req.forward_to.is_some(),
        voicemail_box: req.voicemail_box.is_some(),
        extension: Some(r.id),
    };
    let fields = ExtensionFields {
        number: req.number.unwrap_or_else(|| r.number.clone()),
        display_name: req.display_name.unwrap_or_else(|| r.display_name.clone()),
        user_id: req.user_id.unwrap_or(r.user_id),
        codecs: req.codecs.unwrap_or_else(|| r.codecs.clone()),
        nat: req.nat.unwrap_or(r.nat),
        call_limit: req.call_limit.unwrap_or(r.call_limit),
        voicemail_box: req.voicemail_box.unwrap_or_else(|| r.voicemail_box.clone()),
        forward_to: req.forward_to.unwrap_or_else(|| r.forward_to.clone()),
        dnd: req.dnd.unwrap_or(r.dnd),
        enabled: req.enabled.unwrap_or(r.enabled),
    };
    let fields = check_fields(&state, scope.id(), fields, changed).await?;
    store::extensions::update_extension(&state.store, scope.id(), r.id, &fields).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.update",
        "extension",
        r.id,
        json!({
            "number": fields.number, "display_name": fields.display_name, "user_id": fields.user_id,
            "codecs": fields.codecs, "nat": fields.nat, "call_limit": fields.call_limit,
            "voicemail_box": fields.voicemail_box, "forward_to": fields.forward_to,
            "dnd": fields.dnd, "enabled": fields.enabled,
        }),
    )
    .await?;
    let r = sync(&state, &scope.tenant, r.id, Some(&r.number)).await?;
    Ok(AppJson(view(&state, &scope.tenant, r)))
}

/// Deletes an extension after removing it from Asterisk. If Asterisk cannot remove it, the
/// extension is kept (its credentials would otherwise stay live with nothing to show them)
/// and the answer is 502; retry once Asterisk is back.
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/extensions/{xid}", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id"), ("xid" = i64, Path, description = "extension id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn delete_extension(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let r = store::extensions::get_extension(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("extension"))?;
    if state.provisioner.is_configured()
        && let Err(e) = state
            .provisioner
            .remove(&object_id(&scope.tenant.slug, &r.number))
            .await
    {
        record_failure(&state, scope.id(), r.id, &e).await?;
        return Err(ApiError::Status {
            status: StatusCode::BAD_GATEWAY,
            code: "asterisk_failed",
            message: format!("the extension is kept: removing it from Asterisk failed: {e}"),
        });
    }
    store::extensions::delete_extension(&state.store, scope.id(), r.id).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.delete",
        "extension",
        r.id,
        json!({"number": r.number}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the SIP password (given, or generated when omitted) and pushes it; the answer
/// carries it once.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/extensions/{xid}/password", tag = "extensions", request_body = PasswordChange,
    params(("tid" = i64, Path, description = "tenant id"), ("xid" = i64, Path, description = "extension id")),
    responses((status = 200, body = ExtensionView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<PasswordChange>,
) -> ApiResult<AppJson<ExtensionView>> {
    let r = store::extensions::get_extension(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("extension"))?;
    let (password, generated) = match &req.password {
        Some(p) => (check_password(p)?, false),
        None => (generate_sip_password(), true),
    };
    store::extensions::set_password(
        &state.store,
        scope.id(),
        r.id,
        &state.master_key.seal(&password),
    )
    .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.password",
        "extension",
        r.id,
        json!({"number": r.number, "generated": generated}),
    )
    .await?;
    let r = sync(&state, &scope.tenant, r.id, None).await?;
    let mut v = view(&state, &scope.tenant, r);
    v.password = Some(password);
    Ok(AppJson(v))
}

/// Pushes the extension to Asterisk again (after a failure, or after Asterisk lost it).
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/extensions/{xid}/provision", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id"), ("xid" = i64, Path, description = "extension id")),
    responses((status = 200, body = ExtensionView), (status = 404, body = ErrorBody)))]
async fn retry_provisioning(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<ExtensionView>> {
    let r = store::extensions::get_extension(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("extension"))?;
    let r = sync(&state, &scope.tenant, r.id, None).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.provision",
        "extension",
        r.id,
        json!({"number": r.number, "error": r.provision_error}),
    )
    .await?;
    Ok(AppJson(view(&state, &scope.tenant, r)))
}

/// The tenant's enabled extensions as a `pjsip.conf` include (passwords included), for
/// installations that manage PJSIP in files instead of ARI push configuration.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/extensions/pjsip.conf", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id"), IncludeParams),
    responses((status = 200, description = "the include file", content_type = "text/plain"), (status = 403, body = ErrorBody)))]
async fn pjsip_include(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppQuery(q): AppQuery<IncludeParams>,
) -> ApiResult<Response> {
    let records = store::extensions::list_extensions(&state.store, scope.id()).await?;
    let exts = records
        .iter()
        .filter(|r| r.enabled)
        .map(|r| pjsip(&state, &scope.tenant, r))
        .collect::<ApiResult<Vec<_>>>()?;
    let body = super::provision::render_pjsip_include(&scope.tenant.slug, &exts, q.templates);
    // The file holds every SIP password of the tenant: who fetched it is worth knowing.
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "extension.export",
        "tenant",
        scope.id(),
        json!({"extensions": exts.len(), "templates": q.templates}),
    )
    .await?;
    let disposition = format!("attachment; filename=\"pjsip_{}.conf\"", scope.tenant.slug);
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// One phone of the tenant's directory. Only what a colleague needs to pick whom to put a
/// caller through to: no SIP username or password, codecs, forwarding or voicemail.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryEntry {
    /// The extension number (what to dial, or to transfer to).
    pub number: String,
    /// The phone's caller name.
    pub display_name: String,
    /// The name of the agent using it.
    pub agent_name: Option<String>,
    /// Whether it takes a call now: registered, not on do-not-disturb, not on a call.
    pub available: bool,
    /// Why in one word: `available`, `on_call` (ringing or on a call), `dnd`, `offline` (not
    /// registered) or `unknown` (Asterisk has said nothing about it).
    pub status: &'static str,
    /// The caller's own phone.
    pub mine: bool,
}

/// The tenant's phone directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneDirectory {
    /// Enabled extensions, by number.
    pub items: Vec<DirectoryEntry>,
}

/// One word for whether a phone takes a call now.
fn directory_status(dnd: bool, activity: PhoneActivity) -> &'static str {
    match activity.device_state {
        _ if dnd => "dnd",
        Some(DeviceState::Idle) => "available",
        Some(DeviceState::Unavailable) => "offline",
        Some(_) => "on_call",
        None => "unknown",
    }
}

/// The tenant's phones for every member: each enabled extension's number, name and agent,
/// and whether it takes a call now (for transfers; the extensions list is for admins).
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/phone-directory", tag = "extensions",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = PhoneDirectory), (status = 404, body = ErrorBody)))]
async fn phone_directory(
    State(state): State<AppState>,
    scope: TenantScope<AnyMember>,
) -> ApiResult<AppJson<PhoneDirectory>> {
    let me = scope.principal.user_id().map(UserId::get);
    let records = store::extensions::list_extensions_cached(&state.store, scope.id()).await?;
    let items = records
        .iter()
        .filter(|r| r.enabled)
        .map(|r| {
            let activity = state
                .voice
                .phone_activity(&object_id(&scope.tenant.slug, &r.number), r.call_limit);
            let status = directory_status(r.dnd, activity);
            DirectoryEntry {
                number: r.number.clone(),
                display_name: r.display_name.clone(),
                agent_name: r.user_name.clone(),
                available: status == "available",
                status,
                mine: me.is_some() && r.user_id == me,
            }
        })
        .collect();
    Ok(AppJson(PhoneDirectory { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_rules_for_set_ones_and_differ() {
        let a = generate_sip_password();
        assert_eq!(check_password(&a).unwrap(), a);
        assert_ne!(a, generate_sip_password());
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars here").is_err());
        assert!(check_password("semi;colon-password").is_err());
    }

    #[test]
    fn codecs_are_known_unique_and_lowercased() {
        let ok = check_codecs(&["OPUS".into(), "ulaw".into()]).unwrap();
        assert_eq!(ok, ["opus", "ulaw"]);
        assert!(check_codecs(&[]).is_err());
        assert!(check_codecs(&["mp3".into()]).is_err());
        assert!(check_codecs(&["ulaw".into(), "ulaw".into()]).is_err());
    }

    #[test]
    fn the_directory_says_available_only_for_an_idle_phone_without_dnd() {
        let on = |device_state| PhoneActivity {
            device_state,
            active_calls: 0,
        };
        assert_eq!(
            directory_status(false, on(Some(DeviceState::Idle))),
            "available"
        );
        assert_eq!(directory_status(true, on(Some(DeviceState::Idle))), "dnd");
        assert_eq!(
            directory_status(false, on(Some(DeviceState::Ringing))),
            "on_call"
        );
        assert_eq!(
            directory_status(false, on(Some(DeviceState::OnHold))),
            "on_call"
        );
        assert_eq!(
            directory_status(false, on(Some(DeviceState::Unavailable))),
            "offline"
        );
        assert_eq!(directory_status(false, on(None)), "unknown");
    }

    #[test]
    fn display_names_cannot_break_the_caller_id_or_the_include() {
        assert_eq!(check_display_name("  Alice  ").unwrap(), "Alice");
        for bad in ["", "A \"B\"", "x<y>", "a;b", "line\nbreak"] {
            assert!(check_display_name(bad).is_err(), "{bad:?}");
        }
    }
}
