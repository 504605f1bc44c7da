//! Done: 展期作業成功, old and new validity (8 years), and the receipt (收執聯) to print.

use leptos::prelude::*;
use renewal::rules::{classify_term, Term, ORIGINAL_TERM_YEARS, RENEWAL_YEARS};
use renewal::{Receipt, Validity};

use super::{PageContext, PAGE_TITLE_ID};
use crate::flow::Completion;
use crate::i18n::{Arg, Key, Message};
use crate::platform;

/// The success page and the receipt.
#[component]
pub fn DonePage(ctx: PageContext, completion: Completion) -> impl IntoView {
    let language = ctx.language;
    let receipt = completion.receipt;
    let range = move |validity: Validity| {
        move || {
            let language = language.get();
            Message::new(Key::ValidityRange)
                .with("from", Arg::Instant(validity.not_before))
                .with("until", Arg::Instant(validity.not_after))
                .render(language)
        }
    };
    let eight_years = (classify_term(&receipt.new_validity) == Term::Renewed).then(|| {
        let years = i64::from(ORIGINAL_TERM_YEARS + RENEWAL_YEARS);
        view! {
            <p class="eight-years">
                {ctx.message(Message::new(Key::DoneEightYears).with("years", Arg::Number(years)))}
            </p>
        }
    });
    let title = if completion.earlier {
        Key::DoneEarlierTitle
    } else {
        Key::DoneTitle
    };
    let lines_receipt = receipt.clone();
    let lines = move || {
        lines_receipt
            .lines(language.get())
            .into_iter()
            .map(|line| {
                view! {
                    <div>
                        <dt>{line.label}</dt>
                        <dd>{line.value}</dd>
                    </div>
                }
            })
            .collect_view()
    };
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1" class="success">{ctx.text(title)}</h1>
        {completion
            .earlier
            .then(|| view! { <p class="lead">{ctx.text(Key::DoneEarlierExplanation)}</p> })}
        <dl class="facts validity">
            <div>
                <dt>{ctx.text(Key::DoneValidityBefore)}</dt>
                <dd>{range(receipt.old_validity)}</dd>
            </div>
            <div class="after">
                <dt>{ctx.text(Key::DoneValidityAfter)}</dt>
                <dd>{range(receipt.new_validity)}</dd>
            </div>
        </dl>
        {eight_years}
        <p>{ctx.text(Key::DoneRemoveCard)}</p>
        <div class="actions">
            <button type="button" class="button primary" on:click=move |_| platform::print_page()>
                {ctx.text(Key::PrintReceipt)}
            </button>
        </div>
        <article class="receipt" aria-labelledby="receipt-title">
            <h2 id="receipt-title">{move || Receipt::title(language.get())}</h2>
            <dl>{lines}</dl>
            <p class="receipt-footer">{ctx.text(Key::AppTitle)}</p>
        </article>
    }
}
