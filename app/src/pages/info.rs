//! Info: the rules in the notice's words, the offices (loaded from `offices.json`), hours,
//! delegation, after 8 years, free of charge.

use leptos::prelude::*;

use super::{OutsideLink, PageContext, OFFICIAL_SITE, PAGE_TITLE_ID};
use crate::i18n::Key;
use crate::offices::{parse_offices, Office, OFFICES_PATH};
use crate::platform;

/// Where the office list is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OfficesLoad {
    Loading,
    Loaded(Vec<Office>),
    Failed(String),
}

/// The information page.
#[component]
pub fn InfoPage(ctx: PageContext) -> impl IntoView {
    let language = ctx.language;
    // A kiosk calls nobody: the number is shown, not linked.
    let kiosk = ctx.kiosk.is_some();
    let offices = RwSignal::new(OfficesLoad::Loading);
    leptos::task::spawn_local(async move {
        let loaded = match platform::fetch_text(OFFICES_PATH).await {
            Ok(json) => match parse_offices(&json) {
                Ok(list) => OfficesLoad::Loaded(list.offices),
                Err(error) => OfficesLoad::Failed(error.to_string()),
            },
            Err(error) => OfficesLoad::Failed(error),
        };
        offices.try_set(loaded);
    });
    let office_table = move || {
        match offices.get() {
        OfficesLoad::Loading => {
            view! { <p role="status">{ctx.text(Key::OfficesLoading)}</p> }.into_any()
        }
        OfficesLoad::Failed(detail) => view! {
            <p class="notice warning" role="alert">{ctx.text(Key::OfficesFailed)}</p>
            <details class="detail">
                <summary>{ctx.text(Key::TechnicalDetail)}</summary>
                <p><code>{detail}</code></p>
            </details>
        }
        .into_any(),
        OfficesLoad::Loaded(list) => view! {
            <div class="table-wrap">
                <table class="offices">
                    <thead>
                        <tr>
                            <th scope="col">{ctx.text(Key::OfficeName)}</th>
                            <th scope="col">{ctx.text(Key::OfficeAddress)}</th>
                            <th scope="col">{ctx.text(Key::OfficePhone)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {list
                            .into_iter()
                            .map(|office| {
                                let name = office.name_in(language.get()).to_owned();
                                let address = office.address_in(language.get()).to_owned();
                                view! {
                                    <tr>
                                        <th scope="row">{name}</th>
                                        <td>{address}</td>
                                        <td>
                                            {if kiosk {
                                                office.phone.clone().into_any()
                                            } else {
                                                view! {
                                                    <a href=office.phone_link()>{office.phone.clone()}</a>
                                                }
                                                    .into_any()
                                            }}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any(),
    }
    };
    view! {
        <h1 id=PAGE_TITLE_ID tabindex="-1">{ctx.text(Key::InfoTitle)}</h1>
        <ul class="rules">
            <li>{ctx.text(Key::InfoServiceStart)}</li>
            <li>{ctx.text(Key::InfoEligibility)}</li>
            <li>{ctx.text(Key::InfoWindow)}</li>
            <li>{ctx.text(Key::InfoOnce)}</li>
            <li><strong>{ctx.text(Key::InfoFree)}</strong></li>
        </ul>
        <section aria-labelledby="counter-heading">
            <h2 id="counter-heading">{ctx.text(Key::InfoCounterTitle)}</h2>
            <p>{ctx.text(Key::InfoCounter)}</p>
            <p><strong>{ctx.text(Key::InfoHours)}</strong></p>
        </section>
        <section aria-labelledby="offices-heading">
            <h2 id="offices-heading">{ctx.text(Key::InfoOfficesTitle)}</h2>
            {office_table}
        </section>
        <section aria-labelledby="delegation-heading">
            <h2 id="delegation-heading">{ctx.text(Key::InfoDelegationTitle)}</h2>
            <p>{ctx.text(Key::InfoDelegation)}</p>
        </section>
        <section aria-labelledby="after-heading">
            <h2 id="after-heading">{ctx.text(Key::InfoAfterEightTitle)}</h2>
            <p>{ctx.text(Key::InfoAfterEight)}</p>
        </section>
        <p>
            <OutsideLink ctx=ctx href=OFFICIAL_SITE label=Key::InfoOfficialSite />
        </p>
        <div class="actions">
            <button type="button" class="button primary" on:click=move |_| ctx.show_info.set(false)>
                {ctx.text(Key::BackToRenewal)}
            </button>
        </div>
    }
}
