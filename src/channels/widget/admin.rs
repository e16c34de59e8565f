//! The admins' widget API: list, create (with the identity secret, once), change, delete.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_widgets, create_widget))
        .routes(routes!(get_widget, update_widget, delete_widget))
}

/// A widget as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetView {
    /// Id.
    pub id: i64,
    /// Id in the embed snippet.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// Queue new conversations wait in.
    pub queue_id: Option<i64>,
    /// Appearance and behaviour.
    pub settings: WidgetSettings,
    /// The tag to paste into the site.
    pub snippet: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
    /// Secret for identity verification of logged-in users: shown only when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_secret: Option<String>,
}

pub(super) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

pub(super) fn view(state: &AppState, headers: &HeaderMap, w: WidgetRecord) -> WidgetView {
    let base = public_base(state, headers);
    WidgetView {
        snippet: format!(
            "<script src=\"{base}/widget.js\" data-widget=\"{}\" async></script>",
            w.public_id
        ),
        settings: settings_of(&w),
        id: w.id,
        public_id: w.public_id,
        name: w.name,
        queue_id: w.queue_id,
        created_at: w.created_at,
        updated_at: w.updated_at,
        identity_secret: None,
    }
}

/// A list of widgets.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetList {
    /// Widgets.
    pub items: Vec<WidgetView>,
}

/// A widget to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWidget {
    /// Name.
    pub name: String,
    /// Queue for new conversations.
    pub queue_id: Option<i64>,
    /// Appearance and behaviour (defaults for what is omitted).
    #[serde(default)]
    pub settings: Option<Value>,
}

/// Changes to a widget; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetPatch {
    /// Name.
    pub name: Option<String>,
    /// Queue (null keeps it; use 0 to clear).
    pub queue_id: Option<i64>,
    /// Settings to change.
    pub settings: Option<Value>,
}

pub(super) fn merged_settings(
    base: &WidgetSettings,
    patch: Option<&Value>,
) -> ApiResult<WidgetSettings> {
    let mut doc = serde_json::to_value(base).map_err(ApiError::internal)?;
    if let Some(p) = patch {
        let Some(obj) = p.as_object() else {
            return Err(ApiError::validation("settings", "must be an object"));
        };
        if let Some(d) = doc.as_object_mut() {
            for (k, v) in obj {
                d.insert(k.clone(), v.clone());
            }
        }
    }
    let s: WidgetSettings = serde_path_to_error::deserialize(&doc).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(&format!("settings.{path}"), e.into_inner().to_string())
    })?;
    s.check()?;
    Ok(s)
}

pub(super) async fn check_queue(
    state: &AppState,
    tenant: TenantId,
    queue: Option<i64>,
) -> ApiResult<()> {
    if let Some(q) = queue
        && store::queues::find_queue(&state.store, tenant, q)
            .await?
            .is_none()
    {
        return Err(ApiError::validation(
            "queue_id",
            format!("no queue {q} in this tenant"),
        ));
    }
    Ok(())
}

pub(super) fn random_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Lists the tenant's widgets.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/widgets", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = WidgetList), (status = 403, body = ErrorBody)))]
pub(super) async fn list_widgets(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<WidgetList>> {
    let items = store::widgets::list_widgets(&state.store, scope.id())
        .await?
        .into_iter()
        .map(|w| view(&state, &headers, w))
        .collect();
    Ok(AppJson(WidgetList { items }))
}

/// Creates a widget; the response carries the identity secret once.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/widgets", tag = "widget", request_body = NewWidget,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = WidgetView), (status = 422, body = ErrorBody)))]
pub(super) async fn create_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewWidget>,
) -> ApiResult<(StatusCode, AppJson<WidgetView>)> {
    let name = crate::admin::check_name("name", &req.name)?;
    let settings = merged_settings(&WidgetSettings::default(), req.settings.as_ref())?;
    check_queue(&state, scope.id(), req.queue_id).await?;
    let secret = random_id(32);
    let doc = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    let w = store::widgets::insert_widget(
        &state.store,
        scope.id(),
        &random_id(12),
        &name,
        &doc,
        req.queue_id,
        &state.master_key.seal(&secret),
    )
    .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.create",
        "widget",
        w.id,
        json!({"name": name}),
    )
    .await?;
    let mut v = view(&state, &headers, w);
    v.identity_secret = Some(secret);
    Ok((StatusCode::CREATED, AppJson(v)))
}

/// One widget.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 200, body = WidgetView), (status = 404, body = ErrorBody)))]
pub(super) async fn get_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<WidgetView>> {
    let w = store::widgets::find_widget(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    Ok(AppJson(view(&state, &headers, w)))
}

/// Changes a widget.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget", request_body = WidgetPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 200, body = WidgetView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<WidgetPatch>,
) -> ApiResult<AppJson<WidgetView>> {
    let w = store::widgets::find_widget(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    let name = match &req.name {
        Some(n) => crate::admin::check_name("name", n)?,
        None => w.name.clone(),
    };
    let settings = merged_settings(&settings_of(&w), req.settings.as_ref())?;
    let queue = match req.queue_id {
        Some(0) => None,
        Some(q) => Some(q),
        None => w.queue_id,
    };
    check_queue(&state, scope.id(), queue).await?;
    let doc = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    store::widgets::update_widget(&state.store, scope.id(), w.id, &name, &doc, queue).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.update",
        "widget",
        w.id,
        json!({"name": req.name, "queue_id": req.queue_id, "settings": req.settings}),
    )
    .await?;
    let w = store::widgets::find_widget(&state.store, scope.id(), w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    Ok(AppJson(view(&state, &headers, w)))
}

/// Deletes a widget (conversations stay; the snippet stops working).
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_widget(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    store::widgets::delete_widget(&state.store, scope.id(), path.1)
        .await
        .map_err(ApiError::missing("widget"))?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.delete",
        "widget",
        path.1,
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
