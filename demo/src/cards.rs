//! The demo cards: the authority's demo virtual cards (`<data-dir>/cards/`, written by
//! `authority_tools::demo`), offered to the bridge by case name and saved back as they change.
//!
//! A card's state (written certificates, PIN tries) is saved to its file after every command
//! that changed it, so a renewed card stays renewed across restarts. Saving is done by a
//! background thread, a moment after the change, so the dozen writes of a certificate make one
//! or two saves rather than a dozen; [`CardStore::stop`] saves whatever is still pending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use authority_tools::demo::{DemoCardEntry, DemoCase, DemoHolder};
use card::virtual_card::{VirtualCard, VirtualCardState};
use ccid::sim::IccCard;
use serde::Serialize;

use crate::bridge::{CardUnavailable, DemoCardInfo, DemoCards};
use crate::error::DemoError;

/// How long a change waits before it is saved, so a burst of writes is saved once.
const SAVE_DELAY: Duration = Duration::from_millis(150);

/// Short labels for a case: Traditional Chinese, then English (the case table's).
pub fn case_label(case: DemoCase) -> (&'static str, &'static str) {
    case.spec().label
}

/// The demo panel's one line for a card: "陳可展 — 可展期 in window".
pub fn describe(entry: &DemoCardEntry) -> String {
    let (chinese, english) = case_label(entry.case);
    format!("{} — {chinese} {english}", entry.holder.name)
}

/// One card as `/demo/cards.json` lists it: what a visitor types into the page. The holder's
/// data comes from the authority's demo module (the cards' index), never from here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardSheet {
    /// The card's name for `insertCard` (the case).
    pub name: String,
    /// The panel's line for it.
    pub description: String,
    /// The case, in Traditional Chinese.
    pub case_zh: &'static str,
    /// The case, in English.
    pub case_en: &'static str,
    /// The holder: name, ID number, birthday, PIN, card number.
    pub holder: HolderSheet,
    /// When the certificates on the card expire (RFC 3339).
    pub not_after: String,
}

impl CardSheet {
    /// The sheet for an index entry.
    pub fn new(entry: &DemoCardEntry) -> CardSheet {
        let (case_zh, case_en) = case_label(entry.case);
        let not_after = entry
            .validity
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        CardSheet {
            name: entry.case_name().to_string(),
            description: describe(entry),
            case_zh,
            case_en,
            holder: HolderSheet::new(&entry.holder),
            not_after,
        }
    }
}

/// A demo holder as the page's forms want the data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderSheet {
    /// Name.
    pub name: String,
    /// National ID number.
    pub national_id: String,
    /// Birthday, `YYYY-MM-DD`.
    pub birthday: String,
    /// Birthday in the ROC calendar, as a citizen writes it (`民國69年1月15日`).
    pub birthday_roc: String,
    /// The card's PIN.
    pub pin: String,
    /// The card number.
    pub card_number: String,
}

impl HolderSheet {
    /// The sheet for a holder of the authority's demo data.
    pub fn new(holder: &DemoHolder) -> HolderSheet {
        HolderSheet {
            name: holder.name.clone(),
            national_id: holder.national_id.clone(),
            birthday: holder.birthday.clone(),
            birthday_roc: roc_date(&holder.birthday).unwrap_or_default(),
            pin: holder.pin.clone(),
            card_number: holder.card_number.clone(),
        }
    }
}

/// `YYYY-MM-DD` as `民國Y年M月D日`; `None` for what is not a date from 1912 on.
fn roc_date(iso: &str) -> Option<String> {
    let roc = renewal::Birthday::parse(iso).ok()?.roc()?;
    Some(roc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_dates() {
        assert_eq!(roc_date("1980-01-15").as_deref(), Some("民國69年1月15日"));
        assert_eq!(roc_date("1911-05-01"), None);
        assert_eq!(roc_date("1980-01"), None);
        assert_eq!(roc_date("x-1-1"), None);
    }
}

/// What is waiting to be saved, shared by the cards (on the bridge's thread) and the saver.
#[derive(Default)]
struct Pending {
    /// The newest unsaved state of each card, by file name.
    states: BTreeMap<String, VirtualCardState>,
    stopping: bool,
}

/// The cards' files: loads them and saves changed states.
pub struct CardStore {
    dir: PathBuf,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while a batch is taken and written, and while a card is loaded, so a load never
    /// reads a file whose newer state is in flight.
    files: Mutex<()>,
    saver: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for CardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another thread panicked mid-save; the data is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CardStore {
    /// A store for the card files in `dir`, with its saver thread running.
    pub fn start(dir: &Path) -> Result<Arc<CardStore>, DemoError> {
        let store = Arc::new(CardStore {
            dir: dir.to_path_buf(),
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            files: Mutex::new(()),
            saver: Mutex::new(None),
        });
        let worker = Arc::clone(&store);
        let handle = std::thread::Builder::new()
            .name("card-saver".into())
            .spawn(move || worker.run_saver())
            .map_err(|error| DemoError::Thread(error.to_string()))?;
        *lock(&store.saver) = Some(handle);
        Ok(store)
    }

    /// Notes a card's new state; it is saved shortly.
    fn changed(&self, file: &str, state: VirtualCardState) {
        let mut pending = lock(&self.pending);
        pending.states.insert(file.to_string(), state);
        self.wake.notify_one();
    }

    /// The card saved in `file` (or its newer state not yet saved).
    fn load(&self, file: &str) -> Result<VirtualCard, String> {
        // The index names files beside it, nothing elsewhere.
        if Path::new(file).file_name().and_then(|name| name.to_str()) != Some(file) {
            return Err(format!(
                "{file:?} is not a file name in the cards directory"
            ));
        }
        let _files = lock(&self.files);
        let unsaved = lock(&self.pending).states.get(file).cloned();
        match unsaved {
            Some(state) => VirtualCard::from_state(state).map_err(|error| error.to_string()),
            None => authority_tools::demo::load_card(&self.dir.join(file))
                .map_err(|error| error.to_string()),
        }
    }

    fn run_saver(&self) {
        loop {
            {
                let mut pending = lock(&self.pending);
                while pending.states.is_empty() && !pending.stopping {
                    pending = self
                        .wake
                        .wait(pending)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if pending.stopping {
                    return;
                }
            }
            std::thread::sleep(SAVE_DELAY);
            if let Err(error) = self.save_pending() {
                tracing::error!(%error, "saving a demo card failed");
            }
        }
    }

    /// Writes every pending state now; the number of files written.
    pub fn save_pending(&self) -> Result<usize, DemoError> {
        let _files = lock(&self.files);
        let batch = std::mem::take(&mut lock(&self.pending).states);
        let mut first_error = None;
        let mut written = 0;
        for (file, state) in batch {
            let path = self.dir.join(&file);
            let saved = serde_json::to_vec_pretty(&state)
                .map_err(|error| DemoError::Cards(format!("{}: {error}", path.display())))
                .and_then(|json| {
                    // Holds the card's keys and PIN: owner-only, written to a temporary file
                    // and renamed, as the authority writes its files.
                    authority::files::write_private(&path, &json).map_err(DemoError::from)
                });
            match saved {
                Ok(()) => {
                    tracing::debug!(file = %file, "demo card saved");
                    written += 1;
                }
                Err(error) => {
                    // Kept for the next try unless a newer state has come meanwhile.
                    lock(&self.pending).states.entry(file).or_insert(state);
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }

    /// Stops the saver thread and saves what is pending.
    pub fn stop(&self) -> Result<usize, DemoError> {
        lock(&self.pending).stopping = true;
        self.wake.notify_all();
        if let Some(handle) = lock(&self.saver).take() {
            if handle.join().is_err() {
                tracing::error!("the card saver thread failed");
            }
        }
        self.save_pending()
    }
}

/// A demo card in a reader: the virtual card, saving its state whenever a command changes it.
struct StoredCard {
    file: String,
    card: VirtualCard,
    store: Arc<CardStore>,
}

impl IccCard for StoredCard {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    fn reset(&mut self) {
        self.card.reset();
    }

    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        // Only the lasting state counts (tries, files), not the session; a copy is cheap
        // next to the exchange itself.
        let before = self.card.state().clone();
        let response = self.card.process_apdu(apdu);
        if *self.card.state() != before {
            self.store.changed(&self.file, self.card.state().clone());
        }
        response
    }
}

/// The demo cards of a data directory, for the bridge.
pub struct StoredCards {
    entries: Vec<DemoCardEntry>,
    store: Arc<CardStore>,
}

impl std::fmt::Debug for StoredCards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|e| e.case_name()).collect();
        f.debug_struct("StoredCards")
            .field("cards", &names)
            .finish_non_exhaustive()
    }
}

impl StoredCards {
    /// The cards listed in the index, loaded from and saved to `store`.
    pub fn new(entries: Vec<DemoCardEntry>, store: Arc<CardStore>) -> StoredCards {
        StoredCards { entries, store }
    }
}

impl DemoCards for StoredCards {
    fn catalogue(&self) -> Vec<DemoCardInfo> {
        self.entries
            .iter()
            .map(|entry| DemoCardInfo {
                name: entry.case_name().to_string(),
                description: describe(entry),
            })
            .collect()
    }

    fn create(&mut self, name: &str) -> Result<Box<dyn IccCard>, CardUnavailable> {
        let entry = self
            .entries
            .iter()
            .find(|entry| entry.case_name() == name)
            .ok_or_else(|| CardUnavailable::Unknown(name.to_string()))?;
        let card = self
            .store
            .load(&entry.file)
            .map_err(|reason| CardUnavailable::Failed {
                name: name.to_string(),
                reason,
            })?;
        Ok(Box::new(StoredCard {
            file: entry.file.clone(),
            card,
            store: Arc::clone(&self.store),
        }))
    }
}
