//! A reader that cannot be used here: exactly what works instead.

use leptos::prelude::*;

use super::actions::NextActions;
use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::{Deployment, NextAction, ReaderProblem};
use crate::i18n::Key;

/// The guidance for a reader the page could not open.
#[component]
pub fn GuidancePage(
    ctx: PageContext,
    problem: ReaderProblem,
    deployment: Deployment,
) -> impl IntoView {
    let actions = vec![
        NextAction::ChooseReader,
        NextAction::Counter,
        NextAction::OfficialProgram,
    ];
    let body = match problem {
        ReaderProblem::ProtectedInterface => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceProtectedTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceProtectedExplanation)}</p>
            <ul class="options">
                <li>{ctx.text(Key::GuidanceOtherReader)}</li>
                <li>{ctx.text(Key::GuidanceKiosk)}</li>
                <li>{ctx.text(Key::GuidanceCounter)}</li>
            </ul>
            {(deployment == Deployment::Unrestricted)
                .then(|| view! { <p class="notice">{ctx.text(Key::GuidanceKioskStaff)}</p> })}
            <OperatorGuide
                ctx=ctx
                sections=&[
                    (Key::GuideIsolatedApp, "the-authority-and-the-isolated-web-app"),
                    (Key::GuideLinuxKiosk, "linux-kiosk"),
                    (Key::GuideChromeOs, "chromeos"),
                ]
            />
        }
        .into_any(),
        ReaderProblem::HeldByOperatingSystem { detail } => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceHeldTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceHeldExplanation)}</p>
            <ul class="options">
                <li>{ctx.text(Key::OsHintWindows)}</li>
                <li>{ctx.text(Key::OsHintLinux)}</li>
                <li>{ctx.text(Key::OsHintMac)}</li>
            </ul>
            <details class="detail">
                <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                <p><code>{detail}</code></p>
            </details>
            <OperatorGuide
                ctx=ctx
                sections=&[
                    (Key::GuideWindows, "windows"),
                    (Key::GuideUdev, "reader-permissions-udev"),
                    (Key::GuidePcscd, "pcscd"),
                    (Key::GuideMac, "macos"),
                ]
            />
        }
        .into_any(),
        ReaderProblem::UnsupportedReader { detail } => view! {
            <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::GuidanceUnsupportedTitle)}</h1>
            <p class="notice warning" role="alert">{ctx.text(Key::GuidanceUnsupportedExplanation)}</p>
            <details class="detail">
                <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                <p><code>{detail}</code></p>
            </details>
        }
        .into_any(),
    };
    view! {
        {body}
        <NextActions ctx=ctx actions=actions />
    }
}

/// Where the operator guide (`deploy/README.md`) is served, beside the page.
const GUIDE_PATH: &str = "/deploy/";

/// The operator guide's sections for this situation: links in a browser; in a kiosk, which
/// opens nothing outside itself, the sections shown in the page (a frame that may not open
/// windows or run scripts).
#[component]
fn OperatorGuide(ctx: PageContext, sections: &'static [(Key, &'static str)]) -> impl IntoView {
    let kiosk = ctx.kiosk.is_some();
    let items = sections
        .iter()
        .map(|&(label, anchor)| {
            let address = format!("{GUIDE_PATH}#{anchor}");
            if kiosk {
                view! {
                    <h3>{ctx.text(label)}</h3>
                    <iframe class="guide-frame" src=address title=ctx.text(label) sandbox="allow-same-origin"></iframe>
                }
                .into_any()
            } else {
                view! {
                    <li><a href=address target="_blank" rel="noopener">{ctx.text(label)}</a></li>
                }
                .into_any()
            }
        })
        .collect_view();
    view! {
        <details class="detail guide">
            <summary>{ctx.text(Key::GuideTitle)}</summary>
            {if kiosk { items.into_any() } else { view! { <ul>{items}</ul> }.into_any() }}
        </details>
    }
}
