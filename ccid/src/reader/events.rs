//! Card presence: the slot's status and insertion and removal events.

use std::time::Duration;

use crate::error::Error;
use crate::message::{Command, IccStatus, Notification};
use crate::transport::UsbTransport;

use super::{Reader, READER_TIMEOUT};

/// A change of the slot's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardEvent {
    /// A card was inserted.
    Inserted,
    /// The card was removed.
    Removed,
}

/// The slot's state, from GetSlotStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// No card.
    Empty,
    /// A card, not powered.
    CardInactive,
    /// A powered card.
    CardActive,
}

impl<T: UsbTransport> Reader<T> {
    /// Asks the reader whether a card is in the slot and powered.
    pub async fn slot_status(&mut self) -> Result<SlotStatus, Error> {
        let reply = self
            .exchange(Command::GetSlotStatus, READER_TIMEOUT)
            .await?;
        let status = match reply.state.icc {
            IccStatus::Absent => SlotStatus::Empty,
            IccStatus::Inactive => SlotStatus::CardInactive,
            IccStatus::Active => SlotStatus::CardActive,
        };
        self.note_presence(status != SlotStatus::Empty);
        Ok(status)
    }

    /// Waits up to `wait` for the card to be inserted or removed.
    ///
    /// With an interrupt endpoint this waits for the reader's NotifySlotChange. Without one it
    /// asks GetSlotStatus once and returns at once; call it periodically (every half second
    /// serves people well).
    pub async fn wait_card_event(&mut self, wait: Duration) -> Result<Option<CardEvent>, Error> {
        let Some(endpoint) = self.interface.interrupt_in else {
            let before = self.known_presence;
            let now = self.slot_status().await? != SlotStatus::Empty;
            return Ok(match before {
                Some(before) if before == now => None,
                // An empty slot found on the first look is no change.
                None if !now => None,
                _ => Some(if now {
                    CardEvent::Inserted
                } else {
                    CardEvent::Removed
                }),
            });
        };
        let slots = usize::from(self.interface.descriptor.slot_count());
        let length = 1 + slots.div_ceil(4);
        let bytes = match self.transport.interrupt_in(endpoint, length, wait).await {
            Ok(bytes) => bytes,
            Err(crate::transport::TransportError::Timeout) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        match Notification::decode(&bytes)? {
            Notification::SlotChange(changes) => {
                let Some(change) = changes.get(usize::from(self.options.slot)) else {
                    return Ok(None);
                };
                if !change.changed && Some(change.present) == self.known_presence {
                    return Ok(None);
                }
                // A card pulled and reinserted between two notifications is a new card too.
                self.card = None;
                self.known_presence = Some(change.present);
                Ok(Some(if change.present {
                    CardEvent::Inserted
                } else {
                    CardEvent::Removed
                }))
            }
            Notification::HardwareError { slot, code, .. } if slot == self.options.slot => {
                self.card = None;
                Err(Error::HardwareError(code))
            }
            Notification::HardwareError { .. } => Ok(None),
        }
    }

    pub(super) fn note_presence(&mut self, present: bool) {
        if !present {
            self.card = None;
        }
        self.known_presence = Some(present);
    }
}
