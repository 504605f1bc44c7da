//! Card: the card number, the holder, both certificates' validity (ROC and Gregorian) and the
//! authority's verdict with its dates, before the user types anything.

use leptos::prelude::*;
use renewal::roc_date::format_instant;

use super::actions::NextActions;
use super::{PageContext, PAGE_TITLE_ID};
use crate::controller::UserAction;
use crate::flow::explain::explain_verdict;
use crate::flow::{CardOverview, CertificateSummary};
use crate::i18n::{Arg, Key, Message};

/// The card and the verdict.
#[component]
pub fn CardPage(ctx: PageContext, overview: CardOverview) -> impl IntoView {
    let dispatch = ctx.flow.dispatch;
    let busy = ctx.flow.busy;
    let language = ctx.language;
    let authority_time = overview.authority_time;
    let certificate_row = move |label: Key, certificate: CertificateSummary| {
        let validity = certificate.validity;
        view! {
            <tr>
                <th scope="row">{ctx.text(label)}</th>
                <td class="serial">{certificate.serial.to_hex()}</td>
                <td>{move || format_instant(validity.not_before, language.get())}</td>
                <td>{move || format_instant(validity.not_after, language.get())}</td>
            </tr>
        }
    };
    let verdict = overview.verdict.clone().map(|verdict| {
        let eligible = verdict.is_eligible();
        let explained = explain_verdict(&verdict);
        let class = if eligible {
            "verdict eligible"
        } else {
            "verdict refused"
        };
        let actions = explained.actions.clone();
        view! {
            <section class=class aria-labelledby="verdict-heading" role="status">
                <h2 id="verdict-heading">{ctx.message(explained.title)}</h2>
                <p>{ctx.message(explained.explanation)}</p>
                {explained.new_card.map(|new_card| view! { <p>{ctx.message(new_card)}</p> })}
                <p class="hint">
                    {ctx.message(
                        Message::new(Key::AuthorityTime).with("time", Arg::Instant(authority_time)),
                    )}
                </p>
            </section>
            {if eligible {
                view! {
                    <div class="actions">
                        <button
                            type="button"
                            class="button primary"
                            disabled=move || busy.get()
                            on:click=move |_| dispatch.send(UserAction::ContinueToIdentity)
                        >
                            {ctx.text(Key::CardContinue)}
                        </button>
                    </div>
                }
                    .into_any()
            } else {
                view! { <NextActions ctx=ctx actions=actions /> }.into_any()
            }}
        }
    });
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::CardTitle)}</h1>
        <dl class="facts">
            <div>
                <dt>{ctx.text(Key::HolderLabel)}</dt>
                <dd>{overview.holder_name.clone()}</dd>
            </div>
            <div>
                <dt>{ctx.text(Key::CardNumberLabel)}</dt>
                <dd class="serial">{overview.card_number.to_string()}</dd>
            </div>
        </dl>
        <div class="table-wrap">
            <table class="certificates">
                <thead>
                    <tr>
                        <td></td>
                        <th scope="col">{ctx.text(Key::SerialLabel)}</th>
                        <th scope="col">{ctx.text(Key::ValidFromLabel)}</th>
                        <th scope="col">{ctx.text(Key::ValidUntilLabel)}</th>
                    </tr>
                </thead>
                <tbody>
                    {certificate_row(Key::SignatureCertificateLabel, overview.signature.clone())}
                    // A damaged encryption slot (an interrupted write) has nothing to show.
                    {overview.encryption.clone().map(|summary| certificate_row(Key::EncryptionCertificateLabel, summary))}
                </tbody>
            </table>
        </div>
        {verdict}
        <div class="actions secondary">
            <button
                type="button"
                class="button"
                disabled=move || busy.get()
                on:click=move |_| dispatch.send(UserAction::ReadCard)
            >
                {ctx.text(Key::CardReadAgain)}
            </button>
        </div>
    }
}
