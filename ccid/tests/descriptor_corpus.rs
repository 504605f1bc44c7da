//! The descriptor code against libccid's reader corpus: every interface block of every dump is
//! turned back into descriptor bytes, and what this crate makes of them must agree with what
//! libccid's `parse` tool printed about the same reader.
//!
//! Also: a fuzz-style pass over mutated configuration descriptors, and the Castles EZ100PU
//! path through the quirk table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccid::descriptor::{
    find_ccid_interfaces, CcidClassDescriptor, CcidInterface, DescriptorError, ExchangeLevel,
    InterfaceKind, CCID_DESCRIPTOR_LENGTH,
};
use ccid::libccid_dump::{self, DumpInterface};
use ccid::quirks::{self, Dialect};
use ccid::transport::UsbDeviceInfo;

// ---------------------------------------------------------------------------------------------
// The corpus

/// `shared/corpora/ccid-readers`, beside the project root unless `MOICA_SHARED_DIR` names the
/// `shared` folder.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("MOICA_SHARED_DIR") {
        Some(shared) => PathBuf::from(shared).join("corpora").join("ccid-readers"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpora/ccid-readers"
        )),
    }
}

struct Dump {
    file: String,
    blocks: Vec<DumpInterface>,
}

/// Every dump, sorted by file name. A missing folder or an unparsable dump fails the test.
fn load_corpus() -> Vec<Dump> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the CCID reader corpus is missing at {} ({e}); set MOICA_SHARED_DIR to the `shared` \
             folder",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "txt")
                // The list of readers libccid supports, not a dump.
                && path.file_name().is_some_and(|name| name != "supported_readers.txt")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.txt dumps in {}", dir.display());

    let mut dumps = Vec::new();
    let mut failures = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        match libccid_dump::parse_bytes(&bytes) {
            Ok(blocks) => dumps.push(Dump { file, blocks }),
            Err(error) => failures.push(format!("{file}: {error}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} dumps do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
    dumps
}

// ---------------------------------------------------------------------------------------------
// Synthesis, written here independently of the crate's encoders

/// The 54 class-descriptor bytes from a block's numeric fields, little-endian at the CCID 1.1
/// §5.1 offsets.
fn class_bytes(block: &DumpInterface) -> Vec<u8> {
    let d = &block.descriptor;
    let mut b = vec![block.class_length, block.class_descriptor_type];
    b.extend(d.bcd_ccid.to_le_bytes()); // 2
    b.push(d.max_slot_index); // 4
    b.push(d.voltage_support); // 5
    b.extend(d.protocols.to_le_bytes()); // 6
    b.extend(d.default_clock_khz.to_le_bytes()); // 10
    b.extend(d.maximum_clock_khz.to_le_bytes()); // 14
    b.push(d.num_clock_supported); // 18
    b.extend(d.data_rate.to_le_bytes()); // 19
    b.extend(d.max_data_rate.to_le_bytes()); // 23
    b.push(d.num_data_rates_supported); // 27
    b.extend(d.max_ifsd.to_le_bytes()); // 28
    b.extend(d.synch_protocols.to_le_bytes()); // 32
    b.extend(d.mechanical.to_le_bytes()); // 36
    b.extend(d.features.to_le_bytes()); // 40
    b.extend(d.max_ccid_message_length.to_le_bytes()); // 44
    b.push(d.class_get_response); // 48
    b.push(d.class_envelope); // 49
    b.extend(d.lcd_layout.to_le_bytes()); // 50
    b.push(d.pin_support); // 52
    b.push(d.max_ccid_busy_slots); // 53
    assert_eq!(b.len(), CCID_DESCRIPTOR_LENGTH);
    b
}

const BULK_PACKET: u16 = 64;
const INTERRUPT_PACKET: u16 = 16;

/// Endpoint addresses for block `index` of a dump (the scheme `configuration_descriptor`
/// documents, so the two syntheses can be compared byte for byte).
fn addresses(index: usize) -> (u8, u8, u8) {
    let number = |k: usize| ((3 * index + k) % 15 + 1) as u8;
    (0x80 | number(0), number(1), 0x80 | number(2))
}

fn endpoint(address: u8, attributes: u8, size: u16) -> Vec<u8> {
    let [lo, hi] = size.to_le_bytes();
    vec![7, 5, address, attributes, lo, hi, 0]
}

/// Interface descriptor, class descriptor, endpoints.
fn interface_bytes(block: &DumpInterface, index: usize) -> Vec<u8> {
    let types = block.endpoint_types();
    let (bulk_in, bulk_out, interrupt_in) = addresses(index);
    let mut endpoints = Vec::new();
    if types.bulk_in {
        endpoints.push(endpoint(bulk_in, 0x02, BULK_PACKET));
    }
    if types.bulk_out {
        endpoints.push(endpoint(bulk_out, 0x02, BULK_PACKET));
    }
    if types.interrupt_in {
        endpoints.push(endpoint(interrupt_in, 0x03, INTERRUPT_PACKET));
    }
    let mut bytes = vec![
        9,
        4,
        block.interface_number,
        block.alternate_setting,
        endpoints.len() as u8,
        block.interface_class,
        block.interface_subclass,
        block.interface_protocol,
        0,
    ];
    bytes.extend(class_bytes(block));
    bytes.extend(endpoints.concat());
    bytes
}

fn configuration(interface_count: u8, body: &[u8]) -> Vec<u8> {
    let total = u16::try_from(body.len() + 9).unwrap().to_le_bytes();
    let mut c = vec![9, 2, total[0], total[1], interface_count, 1, 0, 0x80, 50];
    c.extend_from_slice(body);
    c
}

/// A one-interface configuration for block `block`.
fn single_configuration(block: &DumpInterface) -> Vec<u8> {
    configuration(1, &interface_bytes(block, 0))
}

/// A composite device: an interface association first, every block of the dump, then a HID
/// interface (whose 0x21 descriptor is a HID descriptor, not a CCID one) that must be ignored.
fn composite_configuration(blocks: &[DumpInterface]) -> Vec<u8> {
    let mut body = vec![8, 0x0B, 0, blocks.len() as u8, 0x0B, 0, 0, 0];
    for (index, block) in blocks.iter().enumerate() {
        body.extend(interface_bytes(block, index));
    }
    body.extend([9, 4, 0x20, 0, 1, 0x03, 0, 0, 0]);
    body.extend([9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x3F, 0]);
    body.extend(endpoint(0x8F, 0x03, 8));
    configuration(blocks.len() as u8 + 1, &body)
}

// ---------------------------------------------------------------------------------------------
// Expectations

/// Why interface finding cannot return a block (its classification is still checked, and
/// `find_ccid_interfaces` must then report `MissingEndpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SkipReason {
    IccdA,
    IccdB,
}

impl SkipReason {
    fn describe(self) -> &'static str {
        match self {
            SkipReason::IccdA => {
                "ICCD version A (bInterfaceProtocol 1): control transfers only, no bulk endpoints"
            }
            SkipReason::IccdB => {
                "ICCD version B (bInterfaceProtocol 2): control transfers and at most an \
                 interrupt-IN, no bulk endpoints"
            }
        }
    }
}

fn expected_kind(block: &DumpInterface) -> Option<InterfaceKind> {
    let device = block.device_info();
    let row = quirks::lookup(device.vendor_id, device.product_id, device.bcd_device);
    if row.is_some_and(|row| row.interface_class == Some(block.interface_class)) {
        return Some(InterfaceKind::Quirk);
    }
    match block.interface_class {
        0x0B if block.class_descriptor_type == 0x21 && block.class_length == 0x36 => {
            Some(InterfaceKind::SmartCardClass)
        }
        0xFF if block.class_length == 0x36 => Some(InterfaceKind::VendorClass),
        _ => None,
    }
}

/// What `find_ccid_interfaces` must return for block `index` of a dump, if it is usable.
fn expected_interface(block: &DumpInterface, index: usize) -> Option<CcidInterface> {
    let types = block.endpoint_types();
    if !(types.bulk_in && types.bulk_out) {
        return None;
    }
    let kind = expected_kind(block)?;
    let device = block.device_info();
    let (bulk_in, bulk_out, interrupt_in) = addresses(index);
    Some(CcidInterface {
        interface_number: block.interface_number,
        alternate_setting: block.alternate_setting,
        interface_class: block.interface_class,
        interface_subclass: block.interface_subclass,
        interface_protocol: block.interface_protocol,
        bulk_in,
        bulk_out,
        interrupt_in: types.interrupt_in.then_some(interrupt_in),
        bulk_in_packet_size: BULK_PACKET,
        bulk_out_packet_size: BULK_PACKET,
        kind,
        descriptor: block.descriptor.clone(),
        quirk: quirks::lookup(device.vendor_id, device.product_id, device.bcd_device),
    })
}

/// Whether interface finding over a whole device gave the interfaces expected of its blocks; a
/// device with none usable (ICCD only) must report the missing endpoint.
fn found_as_expected(
    result: &Result<Vec<CcidInterface>, DescriptorError>,
    expected: &[CcidInterface],
) -> bool {
    match result {
        Ok(found) => found == expected,
        Err(DescriptorError::MissingEndpoint { .. }) => expected.is_empty(),
        Err(_) => false,
    }
}

/// Compares what the crate makes of the descriptor with libccid's decoded lines.
fn check_classification(
    where_: &str,
    block: &DumpInterface,
    descriptor: &CcidClassDescriptor,
    mismatches: &mut Vec<String>,
) {
    let mut differ = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            mismatches.push(format!("{where_}: {what}: ours {ours}, libccid {theirs}"));
        }
    };
    differ(
        "exchange level",
        format!("{:?}", Some(descriptor.exchange_level())),
        format!("{:?}", block.stated_exchange_level()),
    );
    differ(
        "slots",
        format!("{:?}", Some(descriptor.slot_count())),
        format!("{:?}", block.stated_slot_count()),
    );
    differ(
        "PIN support",
        format!("{:?}", descriptor.pin_support()),
        format!("{:?}", block.stated_pin_support()),
    );
    differ(
        "max message length",
        format!("{:?}", Some(descriptor.max_message_length())),
        format!(
            "{:?}",
            block.stated_max_message_length().map(|n| n as usize)
        ),
    );
    differ(
        "protocols (T=0, T=1)",
        format!("{:?}", (descriptor.supports_t0(), descriptor.supports_t1())),
        format!("{:?}", block.stated_protocols()),
    );
    differ(
        "voltages",
        format!("{:?}", descriptor.voltages()),
        format!("{:?}", block.stated_voltages()),
    );
    differ(
        "automatic features",
        format!("{:?}", descriptor.automatic()),
        format!("{:?}", block.stated_automatic()),
    );
}

// ---------------------------------------------------------------------------------------------
// The corpus test

#[test]
fn corpus_classification_and_interfaces_match_libccid() {
    let dumps = load_corpus();
    let mut mismatches: Vec<String> = Vec::new();
    let mut blocks_checked = 0usize;
    let mut classified = 0usize;
    let mut vendor_type_classified = 0usize;
    let mut found_checked = 0usize;
    let mut skipped: BTreeMap<SkipReason, Vec<String>> = BTreeMap::new();
    let mut inferred_endpoints = 0usize;
    let mut composites_checked = 0usize;

    for dump in &dumps {
        for block in &dump.blocks {
            blocks_checked += 1;
            let where_ = format!(
                "{} line {} (interface {})",
                dump.file, block.line, block.interface_number
            );
            let mut mismatch = |text: String| mismatches.push(format!("{where_}: {text}"));

            // The class descriptor bytes, ours and the dump module's.
            let bytes = class_bytes(block);
            if block.class_descriptor_bytes().as_slice() != bytes.as_slice() {
                mismatch("libccid_dump::class_descriptor_bytes differs from the test's".into());
            }

            // Parse them. Vendor-class readers may use another descriptor type, which `parse`
            // refuses and the vendor-class path reads anyway: classify those through it.
            let descriptor = match CcidClassDescriptor::parse(&bytes) {
                Ok(descriptor) => {
                    if block.class_descriptor_type != 0x21 {
                        mismatch(format!(
                            "parse accepted descriptor type 0x{:02X}",
                            block.class_descriptor_type
                        ));
                    }
                    if descriptor != block.descriptor {
                        mismatch(format!(
                            "parse read {descriptor:?}, the dump says {:?}",
                            block.descriptor
                        ));
                    }
                    if descriptor.to_bytes().as_slice() != bytes.as_slice() {
                        mismatch("to_bytes does not give the parsed bytes back".into());
                    }
                    Some(descriptor)
                }
                Err(DescriptorError::BadClassDescriptor {
                    length: 54,
                    descriptor_type,
                }) if block.interface_class == 0xFF
                    && descriptor_type == block.class_descriptor_type =>
                {
                    let mut patched = bytes.clone();
                    patched[1] = 0x21;
                    vendor_type_classified += 1;
                    CcidClassDescriptor::parse(&patched).ok()
                }
                Err(error) => {
                    mismatch(format!("parse failed: {error}"));
                    None
                }
            };
            if let Some(descriptor) = &descriptor {
                classified += 1;
                check_classification(&where_, block, descriptor, &mut mismatches);
            }

            // Find the interface in a configuration of its own.
            let types = block.endpoint_types();
            if !types.stated {
                inferred_endpoints += 1;
            }
            let config = single_configuration(block);
            let library = libccid_dump::configuration_descriptor(std::slice::from_ref(block));
            if library != config {
                mismatches.push(format!(
                    "{where_}: libccid_dump::configuration_descriptor differs from the test's"
                ));
            }
            let device = block.device_info();
            let result = find_ccid_interfaces(&device, &config);
            match expected_interface(block, 0) {
                Some(expected) => {
                    found_checked += 1;
                    if result.as_deref() != Ok(std::slice::from_ref(&expected)) {
                        mismatches.push(format!(
                            "{where_}: find_ccid_interfaces gave {result:?}, expected {expected:?}"
                        ));
                    }
                }
                None => {
                    let reason = match block.interface_protocol {
                        1 if !types.bulk_in || !types.bulk_out => Some(SkipReason::IccdA),
                        2 if !types.bulk_in || !types.bulk_out => Some(SkipReason::IccdB),
                        _ => None,
                    };
                    let Some(reason) = reason else {
                        mismatches.push(format!(
                            "{where_}: interface finding skipped without a listed reason \
                             (class 0x{:02X}, protocol {}, endpoints {types:?})",
                            block.interface_class, block.interface_protocol
                        ));
                        continue;
                    };
                    skipped.entry(reason).or_default().push(where_.clone());
                    // Still a CCID interface, just not one the bulk driver can use.
                    let missing = Err(DescriptorError::MissingEndpoint {
                        interface: block.interface_number,
                        direction: "IN",
                    });
                    if result != missing {
                        mismatches.push(format!(
                            "{where_}: find_ccid_interfaces gave {result:?}, expected {missing:?}"
                        ));
                    }
                }
            }
        }

        // Each device of the dump (a dump may hold several readers) with all its interfaces at
        // once, through the per-device lookup the `descriptor` example uses.
        for device in libccid_dump::devices(&dump.blocks) {
            let where_ = format!("{} device at line {}", dump.file, device.blocks[0].line);
            let expected: Vec<CcidInterface> = device
                .blocks
                .iter()
                .enumerate()
                .filter_map(|(index, block)| expected_interface(block, index))
                .collect();
            if !found_as_expected(&device.found, &expected) {
                mismatches.push(format!(
                    "{where_}: the device's configuration gave {:?}, expected {expected:?}",
                    device.found
                ));
            }
            for (index, block) in device.blocks.iter().enumerate() {
                let wanted = expected_interface(block, index);
                if device.interface_for(block) != wanted.as_ref() {
                    mismatches.push(format!(
                        "{where_}: block at line {} was looked up as {:?}, expected {wanted:?}",
                        block.line,
                        device.interface_for(block)
                    ));
                }
            }
            // The same device as a composite with an interface association and a HID interface.
            let config = composite_configuration(device.blocks);
            let result = find_ccid_interfaces(&device.blocks[0].device_info(), &config);
            if !found_as_expected(&result, &expected) {
                mismatches.push(format!(
                    "{where_}: composite configuration: find_ccid_interfaces gave {result:?}, \
                     expected {expected:?}"
                ));
            }
            composites_checked += 1;
        }
    }

    let skipped_total: usize = skipped.values().map(Vec::len).sum();
    println!("descriptor corpus: {}", corpus_dir().display());
    println!(
        "  checked {} dumps, {} interface blocks",
        dumps.len(),
        blocks_checked
    );
    println!(
        "  classification checked against libccid's decoded lines: {classified} blocks \
         ({vendor_type_classified} with vendor descriptor type 0xFF, read through the \
         vendor-class path), skipped {}",
        blocks_checked - classified
    );
    println!(
        "  interface finding checked: {found_checked} blocks ({inferred_endpoints} of all blocks \
         with endpoint types inferred from bNumEndpoints: no decoded line in the dump)"
    );
    println!(
        "  interface finding skipped: {skipped_total} blocks (each checked to give \
         MissingEndpoint instead)"
    );
    for (reason, places) in &skipped {
        println!("    {} x {}", places.len(), reason.describe());
        for place in places {
            println!("      {place}");
        }
    }
    println!("  whole devices checked (own and composite configuration): {composites_checked}");

    assert_eq!(
        found_checked + skipped_total,
        blocks_checked,
        "every block is either checked or skipped for a listed reason"
    );
    if !mismatches.is_empty() {
        println!("{} mismatches:", mismatches.len());
        for m in &mismatches {
            println!("  {m}");
        }
        panic!("{} mismatches with libccid's corpus", mismatches.len());
    }
}

/// `ELYCTIS_CL_reader.txt` holds two readers (and the second twice), every block at interface
/// 0, alternate setting 0: each must get its own descriptor, not the first reader's.
#[test]
fn a_dump_of_two_readers_gives_each_its_own_values() {
    let path = corpus_dir().join("ELYCTIS_CL_reader.txt");
    let blocks = libccid_dump::parse_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let seen: Vec<(u16, u16, ExchangeLevel, usize, bool)> = libccid_dump::devices(&blocks)
        .iter()
        .flat_map(|device| {
            device.blocks.iter().map(move |block| {
                let descriptor = &device.interface_for(block).unwrap().descriptor;
                (
                    block.vendor_id,
                    block.product_id,
                    descriptor.exchange_level(),
                    descriptor.max_message_length(),
                    descriptor.automatic().ifsd_exchange,
                )
            })
        })
        .collect();
    assert_eq!(
        seen,
        [
            (0x1FFA, 0x0002, ExchangeLevel::ExtendedApdu, 1034, true),
            (0x04E6, 0x5810, ExchangeLevel::Tpdu, 271, false),
            (0x04E6, 0x5810, ExchangeLevel::Tpdu, 271, false),
        ]
    );
}

/// The counts `shared/corpora/README.md` states, so a parser that silently drops or misreads
/// blocks cannot pass.
#[test]
fn corpus_matches_its_readme_statistics() {
    let dumps = load_corpus();
    let blocks: Vec<&DumpInterface> = dumps.iter().flat_map(|d| &d.blocks).collect();
    let firsts: Vec<&DumpInterface> = dumps.iter().map(|d| &d.blocks[0]).collect();
    let count = |set: &[&DumpInterface], f: &dyn Fn(&DumpInterface) -> bool| {
        set.iter().filter(|b| f(b)).count()
    };
    let any_block = |f: &dyn Fn(&DumpInterface) -> bool| {
        dumps.iter().filter(|d| d.blocks.iter().any(f)).count()
    };
    let level = |b: &DumpInterface, want: ExchangeLevel| b.stated_exchange_level() == Some(want);
    let mut pairs: Vec<(u16, u16)> = firsts.iter().map(|b| (b.vendor_id, b.product_id)).collect();
    pairs.sort();
    pairs.dedup();

    let actual: Vec<(&str, usize)> = vec![
        ("dumps", dumps.len()),
        ("distinct VID:PID pairs", pairs.len()),
        ("interface blocks", blocks.len()),
        (
            "dumps with 2 to 5 interfaces",
            dumps
                .iter()
                .filter(|d| (2..=5).contains(&d.blocks.len()))
                .count(),
        ),
        (
            "first interface class 0x0B",
            count(&firsts, &|b| b.interface_class == 0x0B),
        ),
        (
            "first interface class 0xFF",
            count(&firsts, &|b| b.interface_class == 0xFF),
        ),
        (
            "blocks of class 0x0B",
            count(&blocks, &|b| b.interface_class == 0x0B),
        ),
        (
            "blocks of class 0xFF",
            count(&blocks, &|b| b.interface_class == 0xFF),
        ),
        (
            "first interface TPDU",
            count(&firsts, &|b| level(b, ExchangeLevel::Tpdu)),
        ),
        (
            "first interface short APDU",
            count(&firsts, &|b| level(b, ExchangeLevel::ShortApdu)),
        ),
        (
            "first interface extended APDU",
            count(&firsts, &|b| level(b, ExchangeLevel::ExtendedApdu)),
        ),
        (
            "first interface character",
            count(&firsts, &|b| level(b, ExchangeLevel::Character)),
        ),
        (
            "blocks TPDU",
            count(&blocks, &|b| level(b, ExchangeLevel::Tpdu)),
        ),
        (
            "blocks short APDU",
            count(&blocks, &|b| level(b, ExchangeLevel::ShortApdu)),
        ),
        (
            "blocks extended APDU",
            count(&blocks, &|b| level(b, ExchangeLevel::ExtendedApdu)),
        ),
        (
            "blocks character",
            count(&blocks, &|b| level(b, ExchangeLevel::Character)),
        ),
        // The README counts a dump when any of its interfaces has a PIN pad.
        (
            "dumps with bPINSupport != 0",
            any_block(&|b| b.descriptor.pin_support != 0),
        ),
        (
            "dumps with bPINSupport 0x03",
            any_block(&|b| b.descriptor.pin_support == 0x03),
        ),
        (
            "dumps with bPINSupport 0x01",
            any_block(&|b| b.descriptor.pin_support == 0x01),
        ),
        (
            "blocks with bInterfaceProtocol 0",
            count(&blocks, &|b| b.interface_protocol == 0),
        ),
        (
            "blocks with bInterfaceProtocol 1",
            count(&blocks, &|b| b.interface_protocol == 1),
        ),
        (
            "blocks with bInterfaceProtocol 2",
            count(&blocks, &|b| b.interface_protocol == 2),
        ),
        (
            "dumps with dwMaxCCIDMessageLength 271",
            count(&firsts, &|b| b.descriptor.max_ccid_message_length == 271),
        ),
        (
            "dumps with 1 slot",
            count(&firsts, &|b| b.descriptor.max_slot_index == 0),
        ),
        (
            "dumps with 2 to 8 slots",
            count(&firsts, &|b| (1..=7).contains(&b.descriptor.max_slot_index)),
        ),
    ];
    let readme: [(&str, usize); 25] = [
        ("dumps", 691),
        ("distinct VID:PID pairs", 656),
        ("interface blocks", 773),
        ("dumps with 2 to 5 interfaces", 62),
        ("first interface class 0x0B", 667),
        ("first interface class 0xFF", 24),
        ("blocks of class 0x0B", 747),
        ("blocks of class 0xFF", 26),
        ("first interface TPDU", 252),
        ("first interface short APDU", 167),
        ("first interface extended APDU", 266),
        ("first interface character", 6),
        ("blocks TPDU", 278),
        ("blocks short APDU", 194),
        ("blocks extended APDU", 295),
        ("blocks character", 6),
        ("dumps with bPINSupport != 0", 96),
        ("dumps with bPINSupport 0x03", 94),
        ("dumps with bPINSupport 0x01", 2),
        ("blocks with bInterfaceProtocol 0", 761),
        ("blocks with bInterfaceProtocol 1", 3),
        ("blocks with bInterfaceProtocol 2", 9),
        ("dumps with dwMaxCCIDMessageLength 271", 425),
        ("dumps with 1 slot", 642),
        ("dumps with 2 to 8 slots", 49),
    ];
    let differences: Vec<String> = readme
        .iter()
        .zip(&actual)
        .filter(|((_, want), (_, got))| want != got)
        .map(|((name, want), (_, got))| format!("{name}: README {want}, parsed {got}"))
        .collect();
    for (name, got) in &actual {
        println!("  {name}: {got}");
    }
    assert!(
        differences.is_empty(),
        "the parsed corpus disagrees with the README:\n{}",
        differences.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzzing

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// One to three random edits: overwrite a byte, write a boundary value, truncate (patching
/// wTotalLength half the time so the walk reaches the cut), insert bytes, or drop a range.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.byte();
            }
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = [0, 1, 2, 7, 9, 0x21, 0x36, 0x7F, 0x80, 0xFF][rng.below(10)];
            }
            2 => {
                let keep = rng.below(bytes.len() + 1);
                bytes.truncate(keep);
                if rng.below(2) == 0 && bytes.len() >= 4 {
                    let total = (bytes.len() as u16).to_le_bytes();
                    bytes[2] = total[0];
                    bytes[3] = total[1];
                }
            }
            3 => {
                let at = rng.below(bytes.len() + 1);
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    let b = rng.byte();
                    bytes.insert(at, b);
                }
            }
            4 if !bytes.is_empty() => {
                let from = rng.below(bytes.len());
                let to = (from + 1 + rng.below(16)).min(bytes.len());
                bytes.drain(from..to);
            }
            _ => {
                if bytes.len() >= 4 {
                    // Keep wTotalLength honest so the edits are walked over, not refused at once.
                    let total = (bytes.len() as u16).to_le_bytes();
                    bytes[2] = total[0];
                    bytes[3] = total[1];
                }
            }
        }
    }
}

fn check_never_panics(device: &UsbDeviceInfo, bytes: &[u8]) {
    match find_ccid_interfaces(device, bytes) {
        Ok(found) => {
            assert!(!found.is_empty());
            for interface in found {
                assert!(interface.bulk_in & 0x80 != 0, "bulk-IN is an IN endpoint");
                assert!(
                    interface.bulk_out & 0x80 == 0,
                    "bulk-OUT is an OUT endpoint"
                );
                assert!(interface.interrupt_in.is_none_or(|a| a & 0x80 != 0));
                assert!(interface.bulk_in_packet_size <= 0x7FF);
                let _ = interface.descriptor.exchange_level();
                let _ = interface.descriptor.voltages();
                let _ = interface.dialect();
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    for start in [0, 9, 18] {
        if let Some(tail) = bytes.get(start..) {
            let end = tail.len().min(CCID_DESCRIPTOR_LENGTH);
            let _ = CcidClassDescriptor::parse(&tail[..end]);
        }
    }
}

#[test]
fn mutated_configurations_never_panic() {
    let dumps = load_corpus();
    let mut seeds: Vec<Vec<u8>> = dumps
        .iter()
        .flat_map(|d| d.blocks.iter().map(single_configuration))
        .collect();
    seeds.extend(dumps.iter().map(|d| composite_configuration(&d.blocks)));
    seeds.push(ez100pu_configuration(true));

    let devices = [
        UsbDeviceInfo {
            vendor_id: 0x0CA6,
            product_id: 0x0010,
            bcd_device: 0x0100,
        },
        UsbDeviceInfo {
            vendor_id: 0x08E6,
            product_id: 0x3437,
            bcd_device: 0x0200,
        },
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0usize;
    for seed in &seeds {
        for round in 0..24 {
            let mut bytes = seed.clone();
            mutate(&mut rng, &mut bytes);
            check_never_panics(&devices[round % 2], &bytes);
            runs += 1;
        }
    }
    // Pure noise, some of it dressed as a configuration header.
    for _ in 0..2000 {
        let mut bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.byte()).collect();
        if bytes.len() >= 9 && rng.below(2) == 0 {
            let total = (bytes.len() as u16).to_le_bytes();
            bytes[..4].copy_from_slice(&[9, 2, total[0], total[1]]);
        }
        check_never_panics(&devices[rng.below(2)], &bytes);
        runs += 1;
    }
    println!("fuzz: {runs} mutated or random configurations, no panic");
}

// ---------------------------------------------------------------------------------------------
// The Castles EZ100PU

const EZ100PU: UsbDeviceInfo = UsbDeviceInfo {
    vendor_id: 0x0CA6,
    product_id: 0x0010,
    bcd_device: 0x0100,
};

/// The EZ100PU's interface: class 0x00, no class descriptor, bulk pair and interrupt-IN with
/// 16-byte packets.
fn ez100pu_configuration(with_bulk_out: bool) -> Vec<u8> {
    let mut body = vec![9, 4, 0, 0, 3, 0x00, 0x00, 0x00, 0];
    body.extend(endpoint(0x81, 0x02, 16));
    if with_bulk_out {
        body.extend(endpoint(0x02, 0x02, 16));
    }
    body.extend(endpoint(0x83, 0x03, 8));
    configuration(1, &body)
}

#[test]
fn ez100pu_is_found_through_the_quirk_table() {
    let found = find_ccid_interfaces(&EZ100PU, &ez100pu_configuration(true)).unwrap();
    assert_eq!(found.len(), 1);
    let reader = &found[0];
    let row = reader.quirk.expect("the quirk row");
    assert_eq!(row.name, "Castles EZ100PU");
    assert_eq!(reader.kind, InterfaceKind::Quirk);
    assert_eq!(reader.dialect(), Dialect::Ez100pu);
    assert_eq!(row.bulk_out_chunk, Some(16));
    assert_eq!(Some(&reader.descriptor), row.class_descriptor.as_ref());
    assert_eq!(
        (reader.bulk_in, reader.bulk_out, reader.interrupt_in),
        (0x81, 0x02, Some(0x83))
    );
    assert_eq!(
        (reader.bulk_in_packet_size, reader.bulk_out_packet_size),
        (16, 16)
    );
    assert_eq!(reader.interface_class, 0x00);

    let d = &reader.descriptor;
    assert_eq!(d.exchange_level(), ExchangeLevel::Tpdu);
    assert_eq!(d.slot_count(), 1);
    assert!(d.supports_t0() && d.supports_t1());
    let automatic = d.automatic();
    assert!(automatic.clock && automatic.baud_rate);
    assert!(!automatic.pps && !automatic.negotiation && !automatic.ifsd_exchange);
    assert_eq!(d.max_message_length(), 271);
    assert_eq!((d.default_clock_khz, d.max_ifsd), (3686, 254));
    // The supplied descriptor survives a round trip like any other.
    assert_eq!(CcidClassDescriptor::parse(&d.to_bytes()).as_ref(), Ok(d));
}

#[test]
fn ez100pu_bytes_from_another_device_are_not_a_reader() {
    for (vendor_id, product_id) in [(0x0CA6, 0x00A0), (0x1234, 0x0010), (0x0CA7, 0x0010)] {
        let device = UsbDeviceInfo {
            vendor_id,
            product_id,
            bcd_device: 0x0100,
        };
        assert_eq!(
            find_ccid_interfaces(&device, &ez100pu_configuration(true)),
            Err(DescriptorError::NoCcidInterface),
            "{device}"
        );
    }
}

#[test]
fn ez100pu_without_bulk_out_is_missing_an_endpoint() {
    assert_eq!(
        find_ccid_interfaces(&EZ100PU, &ez100pu_configuration(false)),
        Err(DescriptorError::MissingEndpoint {
            interface: 0,
            direction: "OUT"
        })
    );
}
