//! `POST /api/v1/store/backup` (token required): a consistent copy of the store while the daemon
//! runs, streamed as the redb file `slowburn store backup` saves. The copy is one read
//! transaction (see `Store::backup`), so ticks go on committing while it is made and sent.

use super::AppState;
use super::api::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Header with the number of rows the backup holds (all tables), for logs and scripts.
pub const ROWS_HEADER: &str = "x-slowburn-backup-rows";

/// Makes the copy on a blocking thread, then streams it; the temporary file is already unlinked,
/// so a client that hangs up leaves nothing on disk.
pub async fn backup(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    super::silences::authorize(&st, &headers, "backing up the store")?;
    let store = st.shared.store.clone();
    let made = tokio::task::spawn_blocking(move || store.backup_file())
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let (file, stats) = made.map_err(|e| {
        tracing::warn!(error = %e, "store backup failed");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    })?;
    tracing::info!(rows = stats.rows, bytes = stats.bytes, "store backup sent");
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, stats.bytes.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", crate::store::FILE_NAME),
            ),
            (
                header::HeaderName::from_static(ROWS_HEADER),
                stats.rows.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}
