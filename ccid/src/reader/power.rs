//! The card's power: activation at the voltages reader and card share, and deactivation.

use crate::atr::{Atr, CardClass};
use crate::descriptor::Voltage;
use crate::error::Error;
use crate::message::{Command, PowerSelect, SlotError};
use crate::transport::{TraceNote, UsbTransport};

use super::message_io::reply_data;
use super::{CardSession, Link, Reader, POWER_ON_TIMEOUT, READER_TIMEOUT};

impl<T: UsbTransport> Reader<T> {
    /// Powers the card, reads its ATR, and sets up the fastest link card and reader share.
    ///
    /// Voltage: a reader that selects it itself is left to do so. Otherwise 5 V first, then
    /// 3 V and 1.8 V if the card does not answer or its class indicator asks for it — as the
    /// deployed reference driver does, and because every citizen card generation runs at 5 V.
    pub async fn power_on(&mut self) -> Result<Atr, Error> {
        self.card = None;
        let selects = self.power_selects();
        let mut last_error = Error::CardMute;
        for (attempt, &select) in selects.iter().enumerate() {
            let more_left = attempt + 1 < selects.len();
            let reply = self
                .exchange(Command::IccPowerOn(select), POWER_ON_TIMEOUT)
                .await?;
            if let Err(error) = self.check(&reply) {
                if error == Error::NoCard || !more_left || !retry_at_other_voltage(&error) {
                    return Err(error);
                }
                tracing::debug!(?select, %error, "no answer to reset; trying the next voltage");
                last_error = error;
                self.power_off_quietly().await;
                continue;
            }
            let data = reply_data(reply)?;
            let atr_bytes = data
                .strip_prefix(self.interface.atr_prefix())
                .unwrap_or(&data);
            let atr = match Atr::parse(atr_bytes) {
                Ok(atr) => atr,
                Err(error) if more_left => {
                    tracing::debug!(?select, %error, "garbled ATR; trying the next voltage");
                    last_error = error.into();
                    self.power_off_quietly().await;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if more_left && !class_accepted(&atr, select) {
                tracing::debug!(?select, "the card's class indicator excludes this voltage");
                self.power_off_quietly().await;
                continue;
            }
            self.note_presence(true);
            self.transport.note(TraceNote::Atr(atr.bytes()));
            let session = self.negotiate(atr.clone()).await?;
            self.card = Some(session);
            if let Some(CardSession {
                link: Link::T1(_), ..
            }) = &self.card
            {
                if !self.interface.descriptor.automatic().ifsd_exchange {
                    self.announce_ifsd().await?;
                }
            }
            return Ok(atr);
        }
        Err(last_error)
    }

    /// Powers the card off.
    pub async fn power_off(&mut self) -> Result<(), Error> {
        self.card = None;
        let reply = self.exchange(Command::IccPowerOff, READER_TIMEOUT).await?;
        match self.check(&reply) {
            Ok(()) | Err(Error::NoCard) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub(super) fn power_selects(&self) -> Vec<PowerSelect> {
        if self.interface.descriptor.automatic().voltage {
            return vec![PowerSelect::Automatic];
        }
        // Highest voltage first.
        let voltages = self.interface.descriptor.voltages();
        let selects: Vec<PowerSelect> = [
            (Voltage::V5_0, PowerSelect::V5_0),
            (Voltage::V3_0, PowerSelect::V3_0),
            (Voltage::V1_8, PowerSelect::V1_8),
        ]
        .into_iter()
        .filter(|(voltage, _)| voltages.contains(voltage))
        .map(|(_, select)| select)
        .collect();
        if selects.is_empty() {
            vec![PowerSelect::Automatic]
        } else {
            selects
        }
    }

    pub(super) async fn power_off_quietly(&mut self) {
        if let Err(error) = self.power_off().await {
            tracing::debug!(%error, "power off between voltage attempts failed");
        }
    }
}

pub(super) fn retry_at_other_voltage(error: &Error) -> bool {
    matches!(
        error,
        Error::CardMute
            | Error::Slot(
                SlotError::BadAtrTs
                    | SlotError::BadAtrTck
                    | SlotError::ClassNotSupported
                    | SlotError::ParityError
            )
    )
}

pub(super) fn class_accepted(atr: &Atr, select: PowerSelect) -> bool {
    let classes = atr.classes();
    let class = match select {
        PowerSelect::Automatic => return true,
        PowerSelect::V5_0 => CardClass::A,
        PowerSelect::V3_0 => CardClass::B,
        PowerSelect::V1_8 => CardClass::C,
    };
    classes.is_empty() || classes.contains(&class)
}
