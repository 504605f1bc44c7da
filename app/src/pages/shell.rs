//! The page around every step: title, language switch, the Info link, the steps, and the
//! page of the current state.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::card::CardPage;
use super::connect::ConnectPage;
use super::done::DonePage;
use super::guidance::GuidancePage;
use super::identity::IdentityPage;
use super::idle::IdleWatch;
use super::info::InfoPage;
use super::insert::InsertPage;
use super::problem::ProblemPage;
use super::renewing::RenewingPage;
use super::start::StartPage;
use super::steps::StepsNav;
use super::unsupported::UnsupportedPage;
use super::{PageContext, PAGE_TITLE_ID};
use crate::controller::{FlowHandle, UserAction};
use crate::flow::{FlowState, RenewingStep};
use crate::i18n::{Key, Language};
use crate::kiosk::KioskSettings;

/// The whole page over `flow`.
#[component]
pub fn Shell(flow: FlowHandle, kiosk: Option<KioskSettings>) -> impl IntoView {
    let language = RwSignal::new(Language::ZhTw);
    let show_info = RwSignal::new(false);
    // Typed once, kept across card removal and re-reading: nothing typed is lost.
    let national_id = RwSignal::new(String::new());
    let birthday = RwSignal::new(String::new());
    let ctx = PageContext {
        language: language.into(),
        flow,
        show_info,
        kiosk,
    };
    // The kiosk starts over for the next person: nothing of this one stays on the screen.
    let start_over = Callback::new(move |()| {
        national_id.set(String::new());
        birthday.set(String::new());
        show_info.set(false);
        language.set(Language::ZhTw);
        if !matches!(
            flow.state.get_untracked(),
            FlowState::Start | FlowState::Unsupported(_)
        ) {
            flow.dispatch.send(UserAction::StartOver);
        }
    });
    let something_shown =
        Signal::derive(move || show_info.get() || language.get() != Language::ZhTw);
    let idle_watch = kiosk.map(|settings| {
        view! {
            <IdleWatch ctx=ctx settings=settings something_shown=something_shown start_over=start_over />
        }
    });

    Effect::new(move |_| set_document_language(language.get()));
    // The focus moves when the page changes (or the identity form comes back with a
    // mistake), not at every renewal step: those are announced by the live region below.
    Effect::new(
        move |previous: Option<(std::mem::Discriminant<FlowState>, bool)>| {
            let state = flow.state.get();
            let now = (std::mem::discriminant(&state), show_info.get());
            if previous != Some(now) || matches!(state, FlowState::Identity(_)) {
                request_animation_frame(focus_current_step);
            }
            now
        },
    );
    let announcement = move || announcement(&flow.state.get()).map(|key| key.text(language.get()));

    let toggle_language = move |_| {
        language.update(|language| {
            *language = match language {
                Language::ZhTw => Language::En,
                Language::En => Language::ZhTw,
            }
        })
    };
    let other_language = move || match language.get() {
        Language::ZhTw => "en",
        Language::En => "zh-Hant-TW",
    };

    let page = move || {
        if show_info.get() {
            return view! { <InfoPage ctx=ctx /> }.into_any();
        }
        match flow.state.get() {
            FlowState::Start => view! { <StartPage ctx=ctx /> }.into_any(),
            FlowState::Unsupported(reason) => {
                view! { <UnsupportedPage ctx=ctx reason=reason /> }.into_any()
            }
            FlowState::ChoosingReader => view! { <ConnectPage ctx=ctx /> }.into_any(),
            FlowState::ReaderGuidance {
                problem,
                deployment,
            } => {
                view! { <GuidancePage ctx=ctx problem=problem deployment=deployment /> }.into_any()
            }
            FlowState::InsertCard(notice) => {
                view! { <InsertPage ctx=ctx notice=Some(notice) /> }.into_any()
            }
            FlowState::ReadingCard => view! { <InsertPage ctx=ctx notice=None /> }.into_any(),
            FlowState::Card(overview) => {
                view! { <CardPage ctx=ctx overview=overview /> }.into_any()
            }
            FlowState::Identity(step) => view! {
                <IdentityPage ctx=ctx step=step national_id=national_id birthday=birthday />
            }
            .into_any(),
            FlowState::Renewing(renewing) => {
                view! { <RenewingPage ctx=ctx renewing=renewing /> }.into_any()
            }
            FlowState::Done(completion) => {
                view! { <DonePage ctx=ctx completion=completion /> }.into_any()
            }
            FlowState::Failed(problem) => {
                view! { <ProblemPage ctx=ctx problem=problem /> }.into_any()
            }
        }
    };

    view! {
        <header class="site-header">
            <p class="site-title">{ctx.text(Key::AppTitle)}</p>
            <nav class="site-tools" aria-label=ctx.text(Key::AppTitle)>
                <button
                    type="button"
                    class="tool"
                    aria-expanded=move || if show_info.get() { "true" } else { "false" }
                    on:click=move |_| show_info.update(|shown| *shown = !*shown)
                >
                    {move || {
                        if show_info.get() {
                            Key::BackToRenewal.text(language.get())
                        } else {
                            Key::InfoLink.text(language.get())
                        }
                    }}
                </button>
                <button
                    type="button"
                    class="tool"
                    lang=other_language
                    aria-label=ctx.text(Key::LanguageSwitchLabel)
                    on:click=toggle_language
                >
                    {ctx.text(Key::LanguageSwitch)}
                </button>
            </nav>
        </header>
        <Show when=move || !show_info.get()>
            <StepsNav ctx=ctx />
        </Show>
        <main id="main" class="page">
            {page}
        </main>
        <p class="visually-hidden" aria-live="polite">{announcement}</p>
        {idle_watch}
    }
}

/// What the live region says for a state whose page stays while it changes.
fn announcement(state: &FlowState) -> Option<Key> {
    match state {
        FlowState::Renewing(renewing) => Some(match renewing.step {
            RenewingStep::Sign => Key::StepSign,
            RenewingStep::Issue => Key::StepIssue,
            RenewingStep::Write => Key::StepWrite,
            RenewingStep::Verify => Key::StepVerify,
        }),
        FlowState::ReadingCard => Some(Key::ReadingTitle),
        FlowState::Done(completion) if completion.earlier => Some(Key::DoneEarlierTitle),
        FlowState::Done(_) => Some(Key::DoneTitle),
        _ => None,
    }
}

/// `<html lang>` follows the language, so screen readers pronounce the page right.
fn set_document_language(language: Language) {
    let element = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.document_element());
    if let Some(element) = element {
        let tag = match language {
            Language::ZhTw => "zh-Hant-TW",
            Language::En => "en",
        };
        if let Err(error) = element.set_attribute("lang", tag) {
            tracing::warn!(?error, "the page language could not be set");
        }
    }
}

/// Moves the focus to where the new step starts: the field that needs correcting, or the
/// page's heading. Keyboard and screen-reader users then continue from there.
fn focus_current_step() {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let target = document
        .query_selector("[data-autofocus]")
        .ok()
        .flatten()
        .or_else(|| document.get_element_by_id(PAGE_TITLE_ID));
    if let Some(element) =
        target.and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
    {
        if let Err(error) = element.focus() {
            tracing::debug!(?error, "focus failed");
        }
    }
}
