//! Running the authority: opening its data, and serving the router on a socket (for `serve`,
//! and in-process for the tests, the bench and the demo server).

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ca::CertificateAuthority;
use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::error::AuthorityError;
use crate::files;
use crate::identity::IdentityKey;
use crate::routes::{api_router, router_with_static_files};
use crate::service::{Authority, Settings};
use crate::storage::Storage;

/// Opens the authority's data: the CA and identity key in `data_dir` (made on first start) and
/// the database at `database_url` (migrated).
pub async fn open(
    data_dir: &Path,
    database_url: &str,
    clock: Clock,
) -> Result<Authority, AuthorityError> {
    files::create_dir(data_dir)?;
    // Key loading and generation are blocking work.
    let directory = data_dir.to_owned();
    let (ca, identity_key) = tokio::task::spawn_blocking(move || {
        Ok::<_, AuthorityError>((
            CertificateAuthority::load_or_create(&directory)?,
            IdentityKey::load_or_create(&directory)?,
        ))
    })
    .await
    .map_err(|error| AuthorityError::Config(format!("opening the data directory: {error}")))??;
    let storage = Storage::connect(database_url).await?;
    Ok(Authority::new(
        storage,
        ca,
        identity_key,
        clock,
        Settings::default(),
    ))
}

/// A server running on a task; stop it with [`RunningServer::stop`].
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub address: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(self) -> Result<(), AuthorityError> {
        // The task may have ended already; then there is no one to tell.
        let _ = self.shutdown.send(());
        self.task
            .await
            .map_err(|error| AuthorityError::Network(error.to_string()))?
            .map_err(|error| AuthorityError::Network(error.to_string()))
    }
}

/// Serves `router` on `address` (port 0: any free port) on a new task.
pub async fn spawn(router: Router, address: SocketAddr) -> Result<RunningServer, AuthorityError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| AuthorityError::Network(format!("binding {address}: {error}")))?;
    let address = listener
        .local_addr()
        .map_err(|error| AuthorityError::Network(error.to_string()))?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            // A dropped sender stops the server too.
            let _ = stopped.await;
        })
        .await
    });
    Ok(RunningServer {
        address,
        shutdown,
        task,
    })
}

/// `authority serve`: runs until Ctrl-C.
pub async fn serve(args: &ServeArgs) -> Result<(), AuthorityError> {
    let authority = open(
        &args.data.data_dir,
        &args.data.database_url(),
        Clock::system(),
    )
    .await?;
    let router = match &args.static_dir {
        Some(directory) => router_with_static_files(authority.clone(), directory),
        None => api_router(authority.clone()),
    };
    let router = crate::cors::allow_origins(router, &args.allowed_origins);
    let server = spawn(router, args.address).await?;
    tracing::info!(
        address = %server.address,
        backend = ?authority.storage().backend(),
        static_dir = ?args.static_dir,
        allowed_origins = ?args.allowed_origins,
        "authority serving; Ctrl-C stops it"
    );
    println!("authority listening on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|error| AuthorityError::Network(error.to_string()))?;
    tracing::info!("stopping");
    server.stop().await?;
    authority.storage().close().await;
    Ok(())
}
