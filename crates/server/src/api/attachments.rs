//! Files on messages (API.md "Channels, deliveries and attachments"):
//! uploaded first, streamed into the blob store a chunk at a time (at most
//! 25 MiB a file), then named by a reply or an integration's message;
//! fetched on demand, always as a download, never rendered.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use fyncall_domain::Attachment;
use fyncall_domain::conversation::MAX_ATTACHMENT_BYTES;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::{AppState, Id};
use crate::auth::Auth;
use crate::blobs::{self, Upload};
use crate::error::{ApiError, ErrorCode};

/// An uploaded file, to be named in `attachment_ids`.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    #[serde(flatten)]
    #[schema(inline)]
    pub attachment: Attachment,
    pub sha256: String,
}

/// The file name of `Content-Disposition: attachment; filename="…"`.
fn file_name(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || {
        ApiError::bad_request(
            "name the file: send `Content-Disposition: attachment; filename=\"report.pdf\"`",
        )
    };
    let text = headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let name = text
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))
        .map(|n| n.trim_matches('"'))
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(missing)?;
    Ok(blobs::clean_name(name))
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        "the file is over 25 MiB, the most a file may have: share a link to it instead",
    )
}

#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded), (status = 413, description = "over 25 MiB")))]
pub async fn upload(
    State(state): State<AppState>,
    _: Auth,
    request: Request,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let headers = request.headers().clone();
    let name = file_name(&headers)?;
    let content_type = blobs::clean_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream"),
    );
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_ATTACHMENT_BYTES)
    {
        return Err(too_large());
    }
    let mut stream = request.into_body().into_data_stream();
    let mut upload = Upload::default();
    let mut pending: Vec<u8> = Vec::with_capacity(blobs::CHUNK);
    loop {
        let next = stream.next().await;
        let flush = match &next {
            Some(Ok(bytes)) => {
                pending.extend_from_slice(bytes);
                pending.len() >= blobs::CHUNK
            }
            Some(Err(_)) => {
                let store = state.store.clone();
                let _ = tokio::task::spawn_blocking(move || upload.abandon(store.as_ref())).await;
                return Err(ApiError::bad_request(
                    "the upload broke off: send the file again",
                ));
            }
            None => true,
        };
        if upload.size() + pending.len() as u64 > MAX_ATTACHMENT_BYTES {
            let store = state.store.clone();
            let _ = tokio::task::spawn_blocking(move || upload.abandon(store.as_ref())).await;
            return Err(too_large());
        }
        if flush {
            let bytes = std::mem::take(&mut pending);
            let store = state.store.clone();
            upload = tokio::task::spawn_blocking(move || {
                upload.add(store.as_ref(), &bytes).map(|_| upload)
            })
            .await
            .map_err(|_| ApiError::internal())??;
        }
        if next.is_none() {
            break;
        }
    }
    let now = crate::time::now();
    let (attachment, sha256) = state
        .blocking(move |s| {
            let (blob, sha, size) = upload.finish(s)?;
            let a = Attachment {
                id: uuid::Uuid::now_v7(),
                name: name.clone(),
                content_type: content_type.clone(),
                size,
            };
            crate::store::write_tokens(s, |db| blobs::insert(db, &a, blob, &sha, now))?;
            Ok((a, sha))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Uploaded { attachment, sha256 })))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "the file, as a download", body = Vec<u8>, content_type = "application/octet-stream")))]
pub async fn download(
    State(state): State<AppState>,
    _: Auth,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let found = state
        .blocking(move |s| crate::store::read_tokens(s, |db| blobs::attachment(db, id)))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no attachment has id {id}")))?;
    let (attachment, blob) = found;
    let store = state.store.clone();
    // The chunks in order, each read when the client takes the last.
    let chunks = futures_util::stream::unfold(0u32, move |n| {
        let store = store.clone();
        async move {
            let got =
                tokio::task::spawn_blocking(move || blobs::chunk(store.as_ref(), blob, n)).await;
            match got {
                Ok(Ok(Some(bytes))) => Some((Ok::<_, std::io::Error>(bytes), n + 1)),
                Ok(Ok(None)) => None,
                Ok(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), u32::MAX)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), u32::MAX)),
            }
        }
    });
    let ascii: String = attachment
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii.replace(['"', '\\'], "_"),
        percent(&attachment.name)
    );
    let mut response = Body::from_stream(chunks).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&attachment.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(attachment.size));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// RFC 5987 percent-encoding of a file name.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
