//! The USB bridge: simulated readers in this server, reached from the page over one WebSocket
//! (`/usb-bridge`) by `www/usb-standin.js`, which stands in for `navigator.usb`. The page's real
//! WebUSB code runs unchanged against them. The protocol is in `docs/usb-bridge.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ccid::sim::{SimReaderConfig, TestCard};
//! use demo::bridge::{Bridge, CardCatalogue, DemoReader};
//!
//! let cards = CardCatalogue::new().with("test", "a test card", || Box::new(TestCard::new()));
//! let readers = vec![DemoReader::new("tpdu", SimReaderConfig::tpdu()).with_card("test")];
//! let bridge = Bridge::start(readers, cards)?;
//! let app = axum::Router::new().merge(bridge.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The readers are shared by every connection, as USB devices are shared by every tab of a
//! browser: a connection's claim of an interface keeps others from claiming it until it
//! releases it, closes the device, or goes away. Cards keep their state while out of a reader,
//! so a card pulled and put back is the same card — also one the reader pulled by itself
//! (`removeCardAfter`).

mod actor;
pub mod protocol;
pub mod usb_descriptor;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ccid::sim::{IccCard, SimReader, SimReaderConfig};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc as async_mpsc, oneshot};

use actor::{Command, SessionId};
use protocol::ErrorBody;

/// Where the bridge's WebSocket is served.
pub const PATH: &str = "/usb-bridge";

/// Where [`Bridge::router`] serves the page-side stand-in, so the script and the server always
/// come from the same build.
pub const STANDIN_PATH: &str = "/usb-standin.js";

/// The page-side stand-in for `navigator.usb` (`www/usb-standin.js`).
pub const STANDIN_SCRIPT: &str = include_str!("../../www/usb-standin.js");

/// The largest frame accepted from a page; the longest CCID message is far smaller.
const MAX_FRAME: usize = 1 << 20;

/// A demo card on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCardInfo {
    /// The name the page inserts it by.
    pub name: String,
    /// One line for the demo panel.
    pub description: String,
}

/// Why [`DemoCards::create`] gave no card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardUnavailable {
    /// No card by that name is on offer.
    #[error("no demo card {0:?}")]
    Unknown(String),
    /// The card is on offer but could not be made (e.g. its saved state is unreadable).
    #[error("the demo card {name:?} could not be loaded: {reason}")]
    Failed {
        /// The card.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

/// The cards the demo panel can insert. `create` runs on the bridge's thread, each time a card
/// is inserted for the first time (or `fresh`).
pub trait DemoCards: Send + 'static {
    /// The cards on offer.
    fn catalogue(&self) -> Vec<DemoCardInfo>;
    /// A new card by name.
    fn create(&mut self, name: &str) -> Result<Box<dyn IccCard>, CardUnavailable>;
}

type CardMaker = Box<dyn FnMut() -> Box<dyn IccCard> + Send>;

/// A [`DemoCards`] made of named constructors.
#[derive(Default)]
pub struct CardCatalogue {
    entries: Vec<(DemoCardInfo, CardMaker)>,
}

impl std::fmt::Debug for CardCatalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(i, _)| i.name.as_str()).collect();
        f.debug_struct("CardCatalogue")
            .field("cards", &names)
            .finish()
    }
}

impl CardCatalogue {
    /// An empty catalogue.
    pub fn new() -> CardCatalogue {
        CardCatalogue::default()
    }

    /// Adds a card made by `make`.
    pub fn with(
        mut self,
        name: &str,
        description: &str,
        make: impl FnMut() -> Box<dyn IccCard> + Send + 'static,
    ) -> CardCatalogue {
        let info = DemoCardInfo {
            name: name.to_string(),
            description: description.to_string(),
        };
        self.entries.push((info, Box::new(make)));
        self
    }
}

impl DemoCards for CardCatalogue {
    fn catalogue(&self) -> Vec<DemoCardInfo> {
        self.entries.iter().map(|(info, _)| info.clone()).collect()
    }

    fn create(&mut self, name: &str) -> Result<Box<dyn IccCard>, CardUnavailable> {
        self.entries
            .iter_mut()
            .find(|(info, _)| info.name == name)
            .map(|(_, make)| make())
            .ok_or_else(|| CardUnavailable::Unknown(name.to_string()))
    }
}

/// A simulated reader the bridge hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReader {
    /// The bridge's name for it (`deviceId`), stable across restarts.
    pub id: String,
    /// How the simulated reader behaves.
    pub config: SimReaderConfig,
    /// The manufacturer string the page sees.
    pub manufacturer: String,
    /// The product string the page sees.
    pub product: String,
    /// The serial number string the page sees.
    pub serial: String,
    /// The card inserted at start, by name.
    pub card: Option<String>,
}

impl DemoReader {
    /// A reader named `id`, with generic strings and an empty slot.
    pub fn new(id: &str, config: SimReaderConfig) -> DemoReader {
        DemoReader {
            id: id.to_string(),
            config,
            manufacturer: "Simulated".to_string(),
            product: format!("Simulated CCID reader ({id})"),
            serial: format!("SIM-{id}"),
            card: None,
        }
    }

    /// Sets the manufacturer and product strings.
    pub fn named(mut self, manufacturer: &str, product: &str) -> DemoReader {
        self.manufacturer = manufacturer.to_string();
        self.product = product.to_string();
        self
    }

    /// Inserts this card at start.
    pub fn with_card(mut self, card: &str) -> DemoReader {
        self.card = Some(card.to_string());
        self
    }
}

/// Why the bridge could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeSetupError {
    /// Two readers have the same id.
    #[error("two readers are named {0:?}")]
    DuplicateReader(String),
    /// A reader's start card is not in the catalogue.
    #[error("no demo card named {0:?}")]
    UnknownCard(String),
    /// A simulated reader's configuration descriptor could not be read.
    #[error("reader {reader:?}: {reason}")]
    Descriptor {
        /// The reader.
        reader: String,
        /// What went wrong.
        reason: String,
    },
    /// The bridge's thread could not start.
    #[error("the bridge thread: {0}")]
    Thread(String),
}

/// The bridge: the simulated readers' thread and the WebSocket handler that reaches it. Clones
/// share the readers.
#[derive(Clone)]
pub struct Bridge {
    commands: mpsc::Sender<Command>,
    next_session: Arc<AtomicU64>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

impl Bridge {
    /// Starts the readers' thread with these readers and cards. Blocks briefly while the
    /// readers are set up; call it before serving.
    pub fn start(
        readers: Vec<DemoReader>,
        cards: impl DemoCards,
    ) -> Result<Bridge, BridgeSetupError> {
        let commands = actor::spawn(readers, Box::new(cards))?;
        Ok(Bridge {
            commands,
            next_session: Arc::new(AtomicU64::new(1)),
        })
    }

    /// A router serving the bridge at [`PATH`] and the stand-in at [`STANDIN_PATH`], to merge
    /// into the server's. The demo page loads the stand-in before the app's own script.
    pub fn router(&self) -> Router {
        Router::new()
            .route(PATH, get(websocket_handler))
            .route(STANDIN_PATH, get(standin_script))
            .with_state(self.clone())
    }

    /// Runs `job` on a reader on the bridge's thread (to inject a fault or look at its card),
    /// then completes transfers it made data for. `job` receives `None` for an unknown id;
    /// `None` comes back if the bridge has stopped.
    ///
    /// Insert and remove cards with the bridge's own requests, not here, so the bridge knows
    /// which card is where.
    pub async fn with_reader<R: Send + 'static>(
        &self,
        device_id: &str,
        job: impl FnOnce(Option<&SimReader>) -> R + Send + 'static,
    ) -> Option<R> {
        let (answer, result) = oneshot::channel();
        let command = Command::WithReader {
            device_id: device_id.to_string(),
            job: Box::new(move |reader| {
                let _ = answer.send(job(reader));
            }),
        };
        self.commands.send(command).ok()?;
        result.await.ok()
    }

    /// Serves one WebSocket connection until it closes.
    pub async fn serve_socket(&self, socket: WebSocket) {
        let session: SessionId = self.next_session.fetch_add(1, Ordering::Relaxed);
        let (outgoing, mut frames_out) = async_mpsc::unbounded_channel::<String>();
        let connect = Command::Connect {
            session,
            outgoing: outgoing.clone(),
        };
        if self.commands.send(connect).is_err() {
            tracing::warn!("USB bridge connection refused: the bridge has stopped");
            return;
        }
        tracing::debug!(session, "USB bridge connection opened");
        let (mut sink, mut stream) = socket.split();
        let writer = tokio::spawn(async move {
            while let Some(frame) = frames_out.recv().await {
                if sink.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
        });
        while let Some(message) = stream.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Binary(_)) => {
                    let error = ErrorBody::malformed("frames are JSON text");
                    let _ =
                        outgoing.send(protocol::response(&serde_json::Value::Null, &Err(error)));
                    continue;
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            };
            let (id, request) = protocol::parse_frame(text.as_str());
            let request = match request {
                Ok(request) => request,
                Err(error) => {
                    tracing::debug!(session, %error.message, "malformed bridge request");
                    let _ = outgoing.send(protocol::response(&id, &Err(error)));
                    continue;
                }
            };
            let command = Command::Request {
                session,
                id: id.clone(),
                request,
            };
            if self.commands.send(command).is_err() {
                let error = ErrorBody::new("NetworkError", "the USB bridge has stopped");
                let _ = outgoing.send(protocol::response(&id, &Err(error)));
                break;
            }
        }
        let _ = self.commands.send(Command::Disconnect { session });
        drop(outgoing);
        // The bridge thread drops its sender on Disconnect; the writer then ends.
        let _ = writer.await;
        tracing::debug!(session, "USB bridge connection closed");
    }
}

async fn standin_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        STANDIN_SCRIPT,
    )
}

/// The axum handler for [`PATH`], with the [`Bridge`] as state (when mounting it by hand
/// rather than with [`Bridge::router`]).
pub async fn websocket_handler(
    State(bridge): State<Bridge>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move { bridge.serve_socket(socket).await })
}
