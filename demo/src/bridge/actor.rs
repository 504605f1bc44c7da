//! The thread that owns the simulated readers. They are `Rc<RefCell<…>>` inside, so they live
//! on this one thread and everything else reaches them through [`Command`]s.
//!
//! Transfers complete the way they would on a real bus: a `transferIn` that finds nothing to
//! read is parked, and parked transfers are tried again, oldest first, whenever something may
//! have given their endpoint data (an OUT transfer, a card inserted or removed, a test's hook).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use ccid::sim::{IccCard, SimReader, SimTransport};
use ccid::{ControlSetup, TransportError, UsbTransport};
use futures_executor::block_on;
use serde_json::Value;
use tokio::sync::mpsc as async_mpsc;

use super::protocol::{
    self, Answer, CardList, CardListing, DeviceDescription, DeviceList, Direction, Done,
    EndpointType, ErrorBody, Event, InResult, OutResult, RemovedCard, Request, Setup,
};
use super::usb_descriptor::parse_configuration;
use super::{BridgeSetupError, CardUnavailable, DemoCards, DemoReader};

/// Identifies one WebSocket connection.
pub(super) type SessionId = u64;

/// Work done on a reader on the bridge's thread (`None`: no reader by that id).
pub(super) type ReaderJob = Box<dyn FnOnce(Option<&SimReader>) + Send>;

/// What the rest of the bridge asks of the thread.
pub(super) enum Command {
    /// A connection opened; frames for it go to `outgoing`.
    Connect {
        session: SessionId,
        outgoing: async_mpsc::UnboundedSender<String>,
    },
    /// A request from a connection; the response goes to its `outgoing`.
    Request {
        session: SessionId,
        id: Value,
        request: Request,
    },
    /// A connection closed: its claims, opens and parked transfers end.
    Disconnect { session: SessionId },
    /// Runs a closure on a reader (tests and the demo server's own hooks).
    WithReader { device_id: String, job: ReaderJob },
}

/// Starts the thread and sets the readers up on it; returns once they are ready.
pub(super) fn spawn(
    readers: Vec<DemoReader>,
    cards: Box<dyn DemoCards>,
) -> Result<mpsc::Sender<Command>, BridgeSetupError> {
    let (commands, inbox) = mpsc::channel();
    // A std channel: the caller may be inside an async runtime, where tokio's blocking receive
    // refuses to wait.
    let (ready, setup) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("usb-bridge".into())
        .spawn(move || {
            let actor = match Actor::new(readers, cards) {
                Ok(actor) => {
                    let _ = ready.send(Ok(()));
                    actor
                }
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            };
            actor.run(inbox);
        })
        .map_err(|error| BridgeSetupError::Thread(error.to_string()))?;
    match setup.recv() {
        Ok(Ok(())) => Ok(commands),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(BridgeSetupError::Thread(
            "the bridge thread stopped during setup".into(),
        )),
    }
}

/// A card as the bridge holds it. The simulated reader gets a clone: a reader that pulls its
/// card by itself (`removeCardAfter`) drops its clone, and the bridge still has the card, state
/// and all.
#[derive(Clone)]
struct HeldCard(Rc<RefCell<Box<dyn IccCard>>>);

impl HeldCard {
    fn new(card: Box<dyn IccCard>) -> HeldCard {
        HeldCard(Rc::new(RefCell::new(card)))
    }
}

impl IccCard for HeldCard {
    fn atr(&self) -> Vec<u8> {
        self.0.borrow().atr()
    }

    fn reset(&mut self) {
        self.0.borrow_mut().reset();
    }

    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.0.borrow_mut().process_apdu(apdu)
    }
}

/// The card in a reader's slot.
struct Inserted {
    name: String,
    card: HeldCard,
}

struct Reader {
    id: String,
    sim: SimReader,
    transport: SimTransport,
    description: DeviceDescription,
    plugged: bool,
    claims: HashMap<u8, SessionId>,
    card: Option<Inserted>,
    /// A `removeCardAfter` is pending for the card in the slot.
    pull_armed: bool,
}

impl Reader {
    /// The endpoint with this number and direction in an interface `session` has claimed, and
    /// its type.
    fn claimed_endpoint(
        &self,
        session: SessionId,
        number: u8,
        direction: Direction,
    ) -> Option<EndpointType> {
        let configuration = self.current_configuration()?;
        configuration
            .interfaces
            .iter()
            .filter(|interface| self.claims.get(&interface.interface_number) == Some(&session))
            .flat_map(|interface| interface.alternates.first())
            .flat_map(|alternate| &alternate.endpoints)
            .find(|endpoint| endpoint.endpoint_number == number && endpoint.direction == direction)
            .map(|endpoint| endpoint.endpoint_type)
    }

    fn current_configuration(&self) -> Option<&protocol::ConfigurationDescription> {
        let value = self.description.configuration_value?;
        self.description
            .configurations
            .iter()
            .find(|configuration| configuration.configuration_value == value)
    }

    /// Whether the card named `name` is in the slot.
    fn holds(&self, name: &str) -> bool {
        self.card.as_ref().is_some_and(|card| card.name == name)
    }

    fn interface_exists(&self, number: u8) -> bool {
        self.current_configuration().is_some_and(|configuration| {
            configuration
                .interfaces
                .iter()
                .any(|interface| interface.interface_number == number)
        })
    }
}

struct Session {
    outgoing: async_mpsc::UnboundedSender<String>,
    opened: HashSet<usize>,
}

/// A `transferIn` waiting for data.
struct Parked {
    session: SessionId,
    id: Value,
    reader: usize,
    address: u8,
    interrupt: bool,
    length: usize,
}

struct Actor {
    readers: Vec<Reader>,
    cards: Box<dyn DemoCards>,
    /// Cards out of any reader, by name, keeping their state for the next insertion.
    pocket: HashMap<String, HeldCard>,
    sessions: HashMap<SessionId, Session>,
    parked: Vec<Parked>,
}

type Outcome = Result<Answer, ErrorBody>;

/// An answer now, or a transfer parked until data comes.
enum Reply {
    Now(Outcome),
    Parked,
}

impl Actor {
    fn new(specs: Vec<DemoReader>, cards: Box<dyn DemoCards>) -> Result<Actor, BridgeSetupError> {
        let mut actor = Actor {
            readers: Vec::new(),
            cards,
            pocket: HashMap::new(),
            sessions: HashMap::new(),
            parked: Vec::new(),
        };
        for spec in specs {
            if actor.readers.iter().any(|reader| reader.id == spec.id) {
                return Err(BridgeSetupError::DuplicateReader(spec.id));
            }
            let sim = SimReader::new(spec.config.clone());
            let mut transport = sim.transport();
            let description = describe(&spec, &mut transport)?;
            actor.readers.push(Reader {
                id: spec.id.clone(),
                sim,
                transport,
                description,
                plugged: true,
                claims: HashMap::new(),
                card: None,
                pull_armed: false,
            });
            if let Some(card) = spec.card {
                let index = actor.readers.len() - 1;
                actor
                    .put_card(index, &card, false)
                    .map_err(|_| BridgeSetupError::UnknownCard(card))?;
            }
        }
        Ok(actor)
    }

    fn run(mut self, inbox: mpsc::Receiver<Command>) {
        for command in inbox {
            // A fault in a simulated device must not take the bridge down for everyone.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| self.handle(command)));
            if outcome.is_err() {
                tracing::error!("a simulated reader failed while handling a bridge command");
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Connect { session, outgoing } => {
                self.sessions.insert(
                    session,
                    Session {
                        outgoing,
                        opened: HashSet::new(),
                    },
                );
            }
            Command::Request {
                session,
                id,
                request,
            } => {
                tracing::debug!(session, op = request.op(), "bridge request");
                let reply = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    self.request(session, &id, request)
                }))
                .unwrap_or_else(|_| {
                    tracing::error!(session, "a simulated reader failed on a request");
                    Reply::Now(Err(ErrorBody::new(
                        "NetworkError",
                        "A transfer error has occurred. (the simulated reader failed)",
                    )))
                });
                if let Reply::Now(outcome) = reply {
                    self.respond(session, &id, outcome);
                }
            }
            Command::Disconnect { session } => {
                self.sessions.remove(&session);
                self.parked.retain(|parked| parked.session != session);
                for reader in &mut self.readers {
                    reader.claims.retain(|_, owner| *owner != session);
                }
            }
            Command::WithReader { device_id, job } => {
                let index = self.readers.iter().position(|r| r.id == device_id);
                job(index.map(|index| &self.readers[index].sim));
                if let Some(index) = index {
                    self.notice_pulled_card(index);
                    self.serve_parked(index);
                }
            }
        }
    }

    fn respond(&self, session: SessionId, id: &Value, outcome: Outcome) {
        if let Some(target) = self.sessions.get(&session) {
            // A closed connection has nobody left to tell.
            let _ = target.outgoing.send(protocol::response(id, &outcome));
        }
    }

    fn broadcast(&self, event: &Event) {
        let frame = protocol::event(event);
        for session in self.sessions.values() {
            let _ = session.outgoing.send(frame.clone());
        }
    }

    /// Answers `request` now, or parks it (a `transferIn` with no data yet). Each request kind
    /// has its own method, returning its own answer type.
    fn request(&mut self, session: SessionId, id: &Value, request: Request) -> Reply {
        let outcome = match request {
            Request::ListDevices => Ok(Answer::Devices(self.list_devices())),
            Request::Open { device_id } => self.open(session, &device_id).map(Answer::Done),
            Request::Close { device_id } => self.close(session, &device_id).map(Answer::Done),
            Request::SelectConfiguration {
                device_id,
                configuration_value,
            } => self
                .select_configuration(session, &device_id, configuration_value)
                .map(Answer::Done),
            Request::ClaimInterface {
                device_id,
                interface_number,
            } => self
                .claim_interface(session, &device_id, interface_number)
                .map(Answer::Done),
            Request::ReleaseInterface {
                device_id,
                interface_number,
            } => self
                .release_interface(session, &device_id, interface_number)
                .map(Answer::Done),
            Request::SelectAlternateInterface {
                device_id,
                interface_number,
                alternate_setting,
            } => self
                .select_alternate_interface(
                    session,
                    &device_id,
                    interface_number,
                    alternate_setting,
                )
                .map(Answer::Done),
            Request::ControlTransferIn {
                device_id,
                setup,
                length,
            } => self
                .control_transfer_in(session, &device_id, &setup, length)
                .map(Answer::In),
            Request::ControlTransferOut {
                device_id,
                setup,
                data,
            } => self
                .control_transfer_out(session, &device_id, &setup, &data.0)
                .map(Answer::Out),
            Request::TransferIn {
                device_id,
                endpoint_number,
                length,
            } => return self.transfer_in(session, id, &device_id, endpoint_number, length),
            Request::TransferOut {
                device_id,
                endpoint_number,
                data,
            } => self
                .transfer_out(session, &device_id, endpoint_number, &data.0)
                .map(Answer::Out),
            Request::ClearHalt {
                device_id,
                direction,
                endpoint_number,
            } => self
                .clear_halt(session, &device_id, direction, endpoint_number)
                .map(Answer::Done),
            Request::ListCards => Ok(Answer::Cards(self.list_cards())),
            Request::InsertCard {
                device_id,
                card,
                fresh,
            } => self.insert_card(&device_id, &card, fresh).map(Answer::Done),
            Request::RemoveCard { device_id } => {
                self.remove_card(&device_id).map(Answer::RemovedCard)
            }
            Request::RemoveCardAfter {
                device_id,
                commands,
            } => self
                .remove_card_after(&device_id, commands)
                .map(Answer::Done),
            Request::UnplugReader { device_id } => self.unplug_reader(&device_id).map(Answer::Done),
            Request::PlugReader { device_id } => self.plug_reader(&device_id).map(Answer::Done),
        };
        Reply::Now(outcome)
    }

    // Devices: listing, opening, configurations and interfaces.

    fn list_devices(&self) -> DeviceList {
        let devices = self
            .readers
            .iter()
            .filter(|reader| reader.plugged)
            .map(|reader| reader.description.clone())
            .collect();
        DeviceList { devices }
    }

    fn open(&mut self, session: SessionId, device_id: &str) -> Result<Done, ErrorBody> {
        let index = self.reader(device_id)?;
        if let Some(state) = self.sessions.get_mut(&session) {
            state.opened.insert(index);
        }
        Ok(Done {})
    }

    fn close(&mut self, session: SessionId, device_id: &str) -> Result<Done, ErrorBody> {
        let index = self.reader(device_id)?;
        self.end_use(session, index, None);
        if let Some(state) = self.sessions.get_mut(&session) {
            state.opened.remove(&index);
        }
        Ok(Done {})
    }

    fn select_configuration(
        &mut self,
        session: SessionId,
        device_id: &str,
        configuration_value: u8,
    ) -> Result<Done, ErrorBody> {
        let reader = self.opened_reader(session, device_id)?;
        let exists = reader
            .description
            .configurations
            .iter()
            .any(|c| c.configuration_value == configuration_value);
        if !exists {
            return Err(ErrorBody::new(
                "NotFoundError",
                "The configuration value provided is not supported by the device.",
            ));
        }
        if reader.description.configuration_value != Some(configuration_value) {
            // The interfaces of the configuration left are gone with it.
            reader.claims.clear();
        }
        reader.description.configuration_value = Some(configuration_value);
        Ok(Done {})
    }

    fn claim_interface(
        &mut self,
        session: SessionId,
        device_id: &str,
        interface: u8,
    ) -> Result<Done, ErrorBody> {
        let reader = self.opened_reader(session, device_id)?;
        if reader.description.configuration_value.is_none() {
            return Err(ErrorBody::new(
                "InvalidStateError",
                "The device must have a configuration selected.",
            ));
        }
        if !reader.interface_exists(interface) {
            return Err(ErrorBody::new(
                "NotFoundError",
                "The interface number provided is not supported by the device in its current \
                 configuration.",
            ));
        }
        match reader.claims.get(&interface) {
            Some(owner) if *owner == session => return Ok(Done {}),
            // Another page holds it, as another program would on a real machine.
            Some(_) => return Err(ErrorBody::new("NetworkError", "Unable to claim interface.")),
            None => {}
        }
        block_on(reader.transport.claim_interface(interface, 0))
            .map_err(|error| ErrorBody::new("NetworkError", error.to_string()))?;
        reader.claims.insert(interface, session);
        Ok(Done {})
    }

    fn release_interface(
        &mut self,
        session: SessionId,
        device_id: &str,
        interface: u8,
    ) -> Result<Done, ErrorBody> {
        let index = self.opened(session, device_id)?;
        self.end_use(session, index, Some(interface));
        let claims = &mut self.readers[index].claims;
        if claims.get(&interface) == Some(&session) {
            claims.remove(&interface);
        }
        Ok(Done {})
    }

    fn select_alternate_interface(
        &mut self,
        session: SessionId,
        device_id: &str,
        interface_number: u8,
        alternate_setting: u8,
    ) -> Result<Done, ErrorBody> {
        let reader = self.opened_reader(session, device_id)?;
        if reader.claims.get(&interface_number) != Some(&session) {
            return Err(ErrorBody::new(
                "InvalidStateError",
                "The specified interface has not been claimed.",
            ));
        }
        let exists = reader.current_configuration().is_some_and(|c| {
            c.interfaces.iter().any(|i| {
                i.interface_number == interface_number
                    && i.alternates
                        .iter()
                        .any(|a| a.alternate_setting == alternate_setting)
            })
        });
        if !exists {
            return Err(ErrorBody::new(
                "NotFoundError",
                "The alternate setting provided is not supported by the device in its current \
                 configuration.",
            ));
        }
        Ok(Done {})
    }

    /// The reader named `device_id`, plugged in.
    fn reader(&self, device_id: &str) -> Result<usize, ErrorBody> {
        let index = self.known_reader(device_id)?;
        if !self.readers[index].plugged {
            return Err(ErrorBody::disconnected());
        }
        Ok(index)
    }

    /// The reader named `device_id`, plugged in or not.
    fn known_reader(&self, device_id: &str) -> Result<usize, ErrorBody> {
        self.readers
            .iter()
            .position(|reader| reader.id == device_id)
            .ok_or_else(|| ErrorBody::new("NotFoundError", format!("no device {device_id:?}")))
    }

    /// The reader named `device_id`, plugged in and opened by `session`.
    fn opened(&self, session: SessionId, device_id: &str) -> Result<usize, ErrorBody> {
        let index = self.reader(device_id)?;
        let is_open = self
            .sessions
            .get(&session)
            .is_some_and(|state| state.opened.contains(&index));
        if !is_open {
            return Err(ErrorBody::new(
                "InvalidStateError",
                "The device must be opened first.",
            ));
        }
        Ok(index)
    }

    /// [`Actor::opened`]'s reader itself.
    fn opened_reader(
        &mut self,
        session: SessionId,
        device_id: &str,
    ) -> Result<&mut Reader, ErrorBody> {
        let index = self.opened(session, device_id)?;
        Ok(&mut self.readers[index])
    }

    // Control transfers.

    fn control_transfer_in(
        &mut self,
        session: SessionId,
        device_id: &str,
        setup: &Setup,
        length: u16,
    ) -> Result<InResult, ErrorBody> {
        let index = self.opened(session, device_id)?;
        self.check_control_recipient(session, index, setup)?;
        let control = control_setup(setup, Direction::In);
        in_result(block_on(
            self.readers[index].transport.control_in(control, length),
        ))
    }

    fn control_transfer_out(
        &mut self,
        session: SessionId,
        device_id: &str,
        setup: &Setup,
        data: &[u8],
    ) -> Result<OutResult, ErrorBody> {
        let index = self.opened(session, device_id)?;
        self.check_control_recipient(session, index, setup)?;
        let control = control_setup(setup, Direction::Out);
        let sent = block_on(self.readers[index].transport.control_out(control, data));
        self.notice_pulled_card(index);
        self.serve_parked(index);
        out_result(sent, data.len())
    }

    /// Rejects `session`'s parked transfers on the reader (on one interface's endpoints, or on
    /// all), as closing or releasing does in a browser.
    fn end_use(&mut self, session: SessionId, index: usize, interface: Option<u8>) {
        let addresses: Option<Vec<u8>> = interface.map(|number| {
            self.readers[index]
                .current_configuration()
                .into_iter()
                .flat_map(|c| &c.interfaces)
                .filter(|i| i.interface_number == number)
                .flat_map(|i| &i.alternates)
                .flat_map(|a| &a.endpoints)
                .filter(|e| e.direction == Direction::In)
                .map(|e| 0x80 | e.endpoint_number)
                .collect()
        });
        let (ended, kept): (Vec<Parked>, Vec<Parked>) =
            std::mem::take(&mut self.parked).into_iter().partition(|p| {
                p.session == session
                    && p.reader == index
                    && addresses.as_ref().is_none_or(|a| a.contains(&p.address))
            });
        self.parked = kept;
        for parked in ended {
            self.respond(
                parked.session,
                &parked.id,
                Err(ErrorBody::new("AbortError", "The transfer was cancelled.")),
            );
        }
        if interface.is_none() {
            self.readers[index]
                .claims
                .retain(|_, owner| *owner != session);
        }
    }

    fn check_control_recipient(
        &self,
        session: SessionId,
        index: usize,
        setup: &Setup,
    ) -> Result<(), ErrorBody> {
        let reader = &self.readers[index];
        let target = (setup.index & 0xFF) as u8;
        let allowed = match setup.recipient {
            protocol::Recipient::Interface => reader.claims.get(&target) == Some(&session),
            protocol::Recipient::Endpoint => {
                let direction = if target & 0x80 != 0 {
                    Direction::In
                } else {
                    Direction::Out
                };
                reader
                    .claimed_endpoint(session, target & 0x0F, direction)
                    .is_some()
            }
            protocol::Recipient::Device | protocol::Recipient::Other => true,
        };
        if allowed {
            Ok(())
        } else {
            Err(ErrorBody::new(
                "InvalidStateError",
                "The specified interface or endpoint has not been claimed.",
            ))
        }
    }

    // Endpoint transfers.

    fn transfer_in(
        &mut self,
        session: SessionId,
        id: &Value,
        device_id: &str,
        number: u8,
        length: u32,
    ) -> Reply {
        let index = match self.opened(session, device_id) {
            Ok(index) => index,
            Err(error) => return Reply::Now(Err(error)),
        };
        let Some(kind) = self.readers[index].claimed_endpoint(session, number, Direction::In)
        else {
            return Reply::Now(Err(unclaimed_endpoint()));
        };
        let parked = Parked {
            session,
            id: id.clone(),
            reader: index,
            address: 0x80 | number,
            interrupt: kind == EndpointType::Interrupt,
            length: usize::try_from(length).unwrap_or(usize::MAX),
        };
        // Transfers queue on an endpoint: a new one waits behind older ones.
        let queued_behind = self
            .parked
            .iter()
            .any(|p| p.reader == index && p.address == parked.address);
        if queued_behind {
            self.parked.push(parked);
            return Reply::Parked;
        }
        match self.try_read(&parked) {
            Some(outcome) => Reply::Now(outcome),
            None => {
                self.parked.push(parked);
                Reply::Parked
            }
        }
    }

    /// One read from the simulated endpoint: `None` while it has nothing.
    fn try_read(&mut self, parked: &Parked) -> Option<Outcome> {
        let reader = &mut self.readers[parked.reader];
        let result = if parked.interrupt {
            block_on(
                reader
                    .transport
                    .interrupt_in(parked.address, parked.length, Duration::ZERO),
            )
        } else {
            block_on(
                reader
                    .transport
                    .bulk_in(parked.address, parked.length, Duration::ZERO),
            )
        };
        match result {
            Err(TransportError::Timeout) => None,
            other => Some(in_result(other).map(Answer::In)),
        }
    }

    /// Completes, oldest first, the parked transfers of a reader that now have data.
    fn serve_parked(&mut self, index: usize) {
        let mut position = 0;
        let mut served_endpoints_blocked: HashSet<u8> = HashSet::new();
        while position < self.parked.len() {
            let candidate = &self.parked[position];
            if candidate.reader != index || served_endpoints_blocked.contains(&candidate.address) {
                position += 1;
                continue;
            }
            let still_listening = self
                .sessions
                .get(&candidate.session)
                .is_some_and(|session| !session.outgoing.is_closed());
            if !still_listening {
                self.parked.remove(position);
                continue;
            }
            let parked = self.parked.remove(position);
            match self.try_read(&parked) {
                Some(outcome) => self.respond(parked.session, &parked.id, outcome),
                None => {
                    // Nothing for the oldest transfer on this endpoint: the newer ones wait too.
                    served_endpoints_blocked.insert(parked.address);
                    self.parked.insert(position, parked);
                    position += 1;
                }
            }
        }
    }

    fn transfer_out(
        &mut self,
        session: SessionId,
        device_id: &str,
        number: u8,
        data: &[u8],
    ) -> Result<OutResult, ErrorBody> {
        let index = self.opened(session, device_id)?;
        if self.readers[index]
            .claimed_endpoint(session, number, Direction::Out)
            .is_none()
        {
            return Err(unclaimed_endpoint());
        }
        let sent = block_on(self.readers[index].transport.bulk_out(number, data));
        self.notice_pulled_card(index);
        self.serve_parked(index);
        out_result(sent, data.len())
    }

    fn clear_halt(
        &mut self,
        session: SessionId,
        device_id: &str,
        direction: Direction,
        number: u8,
    ) -> Result<Done, ErrorBody> {
        let reader = self.opened_reader(session, device_id)?;
        // The simulated readers keep no halt state; the endpoint must still be one the page may
        // use.
        match reader.claimed_endpoint(session, number, direction) {
            Some(_) => Ok(Done {}),
            None => Err(unclaimed_endpoint()),
        }
    }

    /// Takes back a card the simulated reader pulled by itself (`removeCardAfter`): it goes to
    /// the pocket with its state, and the pages hear of it.
    fn notice_pulled_card(&mut self, index: usize) {
        let reader = &mut self.readers[index];
        if reader.card.is_none() || reader.sim.with_card(|_| ()).is_some() {
            return;
        }
        reader.pull_armed = false;
        let Some(pulled) = reader.card.take() else {
            return;
        };
        let event = Event::Card {
            device_id: reader.id.clone(),
            card: None,
        };
        tracing::debug!(reader = %reader.id, card = %pulled.name, "the reader pulled its card");
        self.pocket.insert(pulled.name, pulled.card);
        self.broadcast(&event);
    }

    // Demo cards.

    fn list_cards(&self) -> CardList {
        let cards: Vec<CardListing> = self
            .cards
            .catalogue()
            .into_iter()
            .map(|card| CardListing {
                in_reader: self
                    .readers
                    .iter()
                    .find(|reader| reader.holds(&card.name))
                    .map(|reader| reader.id.clone()),
                name: card.name,
                description: card.description,
            })
            .collect();
        CardList { cards }
    }

    fn insert_card(&mut self, device_id: &str, name: &str, fresh: bool) -> Result<Done, ErrorBody> {
        let index = self.reader(device_id)?;
        self.put_card(index, name, fresh)?;
        Ok(Done {})
    }

    /// Puts the card named `name` into the reader at `index`: the one kept since it was last
    /// removed, or (`fresh`, or never made) a new one.
    fn put_card(&mut self, index: usize, name: &str, fresh: bool) -> Result<(), ErrorBody> {
        if let Some(holder) = self.readers.iter().find(|reader| reader.holds(name)) {
            return Err(ErrorBody::new(
                "InvalidStateError",
                format!("the card {name:?} is in reader {:?}", holder.id),
            ));
        }
        if let Some(current) = &self.readers[index].card {
            return Err(ErrorBody::new(
                "InvalidStateError",
                format!(
                    "the reader already holds the card {:?}; remove it first",
                    current.name
                ),
            ));
        }
        let kept = if fresh {
            self.pocket.remove(name);
            None
        } else {
            self.pocket.remove(name)
        };
        let card = match kept {
            Some(card) => card,
            None => match self.cards.create(name) {
                Ok(card) => HeldCard::new(card),
                Err(error @ CardUnavailable::Unknown(_)) => {
                    return Err(ErrorBody::new("NotFoundError", error.to_string()))
                }
                Err(error @ CardUnavailable::Failed { .. }) => {
                    tracing::error!(%error, "a demo card could not be made");
                    return Err(ErrorBody::new("InvalidStateError", error.to_string()));
                }
            },
        };
        let reader = &mut self.readers[index];
        reader.sim.insert(Box::new(card.clone()));
        reader.card = Some(Inserted {
            name: name.to_string(),
            card,
        });
        let event = Event::Card {
            device_id: reader.id.clone(),
            card: Some(name.to_string()),
        };
        self.broadcast(&event);
        self.serve_parked(index);
        Ok(())
    }

    fn remove_card(&mut self, device_id: &str) -> Result<RemovedCard, ErrorBody> {
        let index = self.reader(device_id)?;
        let card = self.take_card(index);
        Ok(RemovedCard { card })
    }

    /// Takes the card out of the reader at `index` into the pocket; its name, if there was one.
    fn take_card(&mut self, index: usize) -> Option<String> {
        let reader = &mut self.readers[index];
        if reader.pull_armed {
            // The simulated reader has no way to call a pull off; a count it never reaches
            // keeps it from taking the next card.
            reader.sim.remove_card_after(u32::MAX);
            reader.pull_armed = false;
        }
        let Inserted { name, card } = reader.card.take()?;
        // The reader's clone goes; the bridge keeps the card.
        drop(reader.sim.remove());
        self.pocket.insert(name.clone(), card);
        let event = Event::Card {
            device_id: reader.id.clone(),
            card: None,
        };
        self.broadcast(&event);
        self.serve_parked(index);
        Some(name)
    }

    fn remove_card_after(&mut self, device_id: &str, commands: u32) -> Result<Done, ErrorBody> {
        let index = self.reader(device_id)?;
        let reader = &mut self.readers[index];
        if reader.card.is_none() {
            return Err(ErrorBody::new(
                "InvalidStateError",
                "the reader holds no card",
            ));
        }
        reader.sim.remove_card_after(commands);
        reader.pull_armed = true;
        Ok(Done {})
    }

    // Plugging readers in and out.

    fn plug_reader(&mut self, device_id: &str) -> Result<Done, ErrorBody> {
        let index = self.known_reader(device_id)?;
        let reader = &mut self.readers[index];
        if !reader.plugged {
            reader.plugged = true;
            let device = reader.description.clone();
            self.broadcast(&Event::Connect { device });
        }
        Ok(Done {})
    }

    fn unplug_reader(&mut self, device_id: &str) -> Result<Done, ErrorBody> {
        let index = self.reader(device_id)?;
        let (ended, kept): (Vec<Parked>, Vec<Parked>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|parked| parked.reader == index);
        self.parked = kept;
        for parked in ended {
            self.respond(parked.session, &parked.id, Err(ErrorBody::disconnected()));
        }
        for session in self.sessions.values_mut() {
            session.opened.remove(&index);
        }
        let reader = &mut self.readers[index];
        reader.claims.clear();
        reader.plugged = false;
        let device_id = reader.id.clone();
        self.broadcast(&Event::Disconnect { device_id });
        Ok(Done {})
    }
}

/// The device as the stand-in shows it, from the simulated reader's own configuration
/// descriptor.
fn describe(
    spec: &DemoReader,
    transport: &mut SimTransport,
) -> Result<DeviceDescription, BridgeSetupError> {
    let setup = ccid::message::control::get_configuration_descriptor(0);
    let bad = |reason: String| BridgeSetupError::Descriptor {
        reader: spec.id.clone(),
        reason,
    };
    let head = block_on(transport.control_in(setup, 9)).map_err(|e| bad(e.to_string()))?;
    let total = match head.get(2..4) {
        Some(&[low, high]) => u16::from_le_bytes([low, high]),
        _ => {
            return Err(bad(
                "the configuration descriptor is shorter than 4 bytes".into()
            ))
        }
    };
    let bytes = block_on(transport.control_in(setup, total)).map_err(|e| bad(e.to_string()))?;
    let configuration = parse_configuration(&bytes).map_err(|e| bad(e.to_string()))?;
    let info = spec.config.device;
    Ok(DeviceDescription {
        device_id: spec.id.clone(),
        usb_version_major: 2,
        usb_version_minor: 0,
        usb_version_subminor: 0,
        device_class: 0,
        device_subclass: 0,
        device_protocol: 0,
        vendor_id: info.vendor_id,
        product_id: info.product_id,
        device_version_major: (info.bcd_device >> 8) as u8,
        device_version_minor: ((info.bcd_device >> 4) & 0x0F) as u8,
        device_version_subminor: (info.bcd_device & 0x0F) as u8,
        manufacturer_name: Some(spec.manufacturer.clone()),
        product_name: Some(spec.product.clone()),
        serial_number: Some(spec.serial.clone()),
        // Operating systems configure a device when it is plugged in.
        configuration_value: Some(configuration.configuration_value),
        configurations: vec![configuration],
    })
}

fn control_setup(setup: &Setup, direction: Direction) -> ControlSetup {
    ControlSetup {
        request_type: setup.request_type_byte(direction),
        request: setup.request,
        value: setup.value,
        index: setup.index,
    }
}

/// An IN transfer's result: a stall is a status, as in WebUSB, not an error.
fn in_result(received: Result<Vec<u8>, TransportError>) -> Result<InResult, ErrorBody> {
    match received {
        Ok(data) => Ok(InResult::received(data)),
        Err(TransportError::Stall) => Ok(InResult::stalled()),
        Err(error) => Err(transfer_error(&error)),
    }
}

/// An OUT transfer's result, of `length` bytes sent.
fn out_result(sent: Result<(), TransportError>, length: usize) -> Result<OutResult, ErrorBody> {
    match sent {
        Ok(()) => Ok(OutResult::written(length)),
        Err(TransportError::Stall) => Ok(OutResult::stalled()),
        Err(error) => Err(transfer_error(&error)),
    }
}

fn unclaimed_endpoint() -> ErrorBody {
    ErrorBody::new(
        "NotFoundError",
        "The specified endpoint is not part of a claimed and selected alternate interface.",
    )
}

fn transfer_error(error: &TransportError) -> ErrorBody {
    match error {
        TransportError::Disconnected => ErrorBody::disconnected(),
        other => ErrorBody::new(
            "NetworkError",
            format!("A transfer error has occurred. ({other})"),
        ),
    }
}
