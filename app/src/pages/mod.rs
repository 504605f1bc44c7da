//! The Leptos pages over the flow's state. Each page is one component in its own file and
//! renders one [`FlowState`](crate::flow::FlowState) (plus the Info page); the state lives in
//! the flow, the pages only show it and send [`UserAction`](crate::controller::UserAction)s.
//!
//! Accessibility habits: every page opens with an `h1` with id [`PAGE_TITLE_ID`] that receives
//! the focus when the step changes (or the field marked `data-autofocus`, after a mistake);
//! errors are `role="alert"`, progress is `aria-live="polite"`; every control is a real
//! `button`, `a` or labelled `input`.

mod actions;
mod card;
mod channels;
mod connect;
mod done;
mod guidance;
mod identity;
mod idle;
mod info;
mod insert;
mod keypad;
mod problem;
mod renewing;
mod shell;
mod start;
mod steps;
mod unsupported;

pub use shell::Shell;

use leptos::prelude::*;

use crate::controller::FlowHandle;
use crate::i18n::{Key, Language, Message};
use crate::kiosk::KioskSettings;

/// What every page needs: the language, the flow, and the switch to the Info page.
#[derive(Clone, Copy)]
pub struct PageContext {
    /// The language shown.
    pub language: Signal<Language>,
    /// The flow's state and actions.
    pub flow: FlowHandle,
    /// Whether the Info page is shown instead of the step.
    pub show_info: RwSignal<bool>,
    /// Kiosk mode's settings, when the page runs as a kiosk.
    pub kiosk: Option<KioskSettings>,
}

impl PageContext {
    /// A text of the catalogue, following the language.
    pub fn text(self, key: Key) -> impl Fn() -> &'static str + Send + Sync + Copy {
        let language = self.language;
        move || key.text(language.get())
    }

    /// A message, following the language.
    pub fn message(self, message: Message) -> impl Fn() -> String + Send + Sync + Clone {
        let language = self.language;
        move || message.render(language.get())
    }

    /// The language now (for values computed once).
    pub fn language_now(self) -> Language {
        self.language.get_untracked()
    }
}

/// A link to a site outside this service: a link that opens in a new tab, or in a kiosk
/// (which opens nothing outside itself) the name and address as text to note down.
#[component]
fn OutsideLink(
    ctx: PageContext,
    href: &'static str,
    label: Key,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    if ctx.kiosk.is_some() {
        let address = href.trim_start_matches("https://").trim_end_matches('/');
        view! { <span class=class>{ctx.text(label)} "（" {address} "）"</span> }.into_any()
    } else {
        view! {
            <a class=class href=href target="_blank" rel="noopener">
                {ctx.text(label)}
            </a>
        }
        .into_any()
    }
}

/// The id of every page's heading, which takes the focus when the step changes.
pub const PAGE_TITLE_ID: &str = "page-title";

/// The official site: the renewal program and certificate information.
pub const OFFICIAL_SITE: &str = "https://moica.nat.gov.tw/";
