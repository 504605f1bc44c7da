//! Opening a reader: its configuration descriptor, the CCID interface to use, its data rates.

use crate::descriptor::{self, CcidInterface, ExchangeLevel};
use crate::error::Error;
use crate::message::control;
use crate::transport::UsbTransport;

use super::{Reader, ReaderOptions};

impl<T: UsbTransport> Reader<T> {
    /// Opens the reader behind `transport` with default options: reads its configuration
    /// descriptor, finds the CCID interface and claims it.
    pub async fn open(transport: T) -> Result<Reader<T>, Error> {
        Reader::open_with(transport, ReaderOptions::default()).await
    }

    /// Opens the reader with `options`.
    pub async fn open_with(mut transport: T, options: ReaderOptions) -> Result<Reader<T>, Error> {
        let device = transport.device_info();
        let configuration = read_configuration(&mut transport).await?;
        let interfaces = descriptor::find_ccid_interfaces(&device, &configuration)?;
        let interface = choose_interface(interfaces)?;
        if u16::from(options.slot) >= interface.descriptor.slot_count() {
            return Err(Error::NoSuchSlot(options.slot));
        }
        transport
            .claim_interface(interface.interface_number, interface.alternate_setting)
            .await?;
        let data_rates = read_data_rates(&mut transport, &interface).await;
        tracing::debug!(
            device = %device,
            level = ?interface.descriptor.exchange_level(),
            dialect = ?interface.dialect(),
            "opened CCID reader"
        );
        Ok(Reader {
            transport,
            device,
            interface,
            options,
            data_rates,
            seq: 0,
            card: None,
            known_presence: None,
        })
    }
}

/// Reads the whole configuration descriptor: its first nine bytes give `wTotalLength`.
pub(super) async fn read_configuration<T: UsbTransport>(
    transport: &mut T,
) -> Result<Vec<u8>, Error> {
    let setup = control::get_configuration_descriptor(0);
    let head = transport.control_in(setup, 9).await?;
    let Some(&[length_lo, length_hi]) = head.get(2..4) else {
        return Err(descriptor::DescriptorError::Malformed {
            offset: 0,
            reason: "the configuration descriptor is shorter than its header",
        }
        .into());
    };
    let total = u16::from_le_bytes([length_lo, length_hi]);
    if usize::from(total) <= head.len() {
        return Ok(head);
    }
    Ok(transport.control_in(setup, total).await?)
}

/// GET_DATA_RATES, when the reader lists its rates; many readers refuse it, which is fine.
pub(super) async fn read_data_rates<T: UsbTransport>(
    transport: &mut T,
    interface: &CcidInterface,
) -> Vec<u32> {
    let count = interface.descriptor.num_data_rates_supported;
    if count == 0 {
        return Vec::new();
    }
    let setup = control::get_data_rates(interface.interface_number);
    match transport.control_in(setup, u16::from(count) * 4).await {
        Ok(bytes) => bytes
            .chunks_exact(4)
            .filter_map(|rate| <[u8; 4]>::try_from(rate).ok())
            .map(u32::from_le_bytes)
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "GET_DATA_RATES refused; using dwMaxDataRate alone");
            Vec::new()
        }
    }
}

/// The first interface this driver can drive; else the reason the first one cannot be.
pub(super) fn choose_interface(interfaces: Vec<CcidInterface>) -> Result<CcidInterface, Error> {
    let unusable = |interface: &CcidInterface| -> Option<Error> {
        match interface.interface_protocol {
            0 => {}
            1 => return Some(Error::IccdNotSupported('A')),
            2 => return Some(Error::IccdNotSupported('B')),
            other => return Some(Error::UnknownInterfaceProtocol(other)),
        }
        (interface.descriptor.exchange_level() == ExchangeLevel::Character)
            .then_some(Error::CharacterLevelReader)
    };
    let mut first_error = None;
    for interface in interfaces {
        match unusable(&interface) {
            None => return Ok(interface),
            Some(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(Error::Descriptor(
        descriptor::DescriptorError::NoCcidInterface,
    )))
}
