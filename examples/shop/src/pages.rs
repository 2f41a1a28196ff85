//! The shop's pages, rendered on the server with maud (which escapes every value).
//! No JavaScript: a page still waiting for something reloads itself every two
//! seconds with a meta refresh.

use std::time::{Duration, UNIX_EPOCH};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{
    FIELDS, ITEM,
    store::{Confirmation, Order, OrderState},
};

const CSS: &str = "
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
header{border-bottom:1px solid #8884;margin-bottom:1.5rem}
.cart,.box{border:1px solid #8886;border-radius:.5rem;padding:1rem;margin:1rem 0}
.error{color:#b00020}
.wait{color:#8a6d00}
.ok{color:#11703a}
input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font-family:monospace}
button{margin-top:.5rem;padding:.5rem 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:bold}
ol.history{font-size:.9em;color:#666}
";

fn page(title: &str, refresh: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                @if refresh {
                    meta http-equiv="refresh" content="2";
                }
                title { (title) " · Example Shop" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header { h1 { a href="/" { "Example Shop" } } }
                main { (body) }
            }
        }
    }
}

fn time(unix: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}

/// The checkout: the cart, and the form that asks the person's Passport.
pub(crate) fn checkout(input: &str, error: Option<&str>) -> Markup {
    page(
        "Checkout",
        false,
        html! {
            h2 { "Checkout" }
            div.cart {
                p { "1 × " (ITEM) }
                p { "Delivery: free" }
            }
            form method="post" action="/orders" {
                label for="passport_id" { "Your passport id" }
                input #passport_id type="text" name="passport_id" value=(input)
                    placeholder="did:key:z6Mk…" autocomplete="off" spellcheck="false" required;
                @if let Some(error) = error {
                    p.error { (error) }
                }
                p {
                    small {
                        "Type it, or paste it from a QR scan (" code { "passport id --qr" } "). "
                        "We will ask your Passport for "
                        @for (i, (name, _)) in FIELDS.iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (name) }
                        }
                        ", for delivery only; you approve on your own node."
                    }
                }
                button type="submit" { "Fill from Passport" }
            }
        },
    )
}

/// An order, as it stands.
pub(crate) fn order(order: &Order) -> Markup {
    let confirming = order
        .erasure
        .as_ref()
        .is_some_and(|e| e.confirmation == Confirmation::Pending);
    page(
        &format!("Order {}", order.number),
        order.state.is_open() || confirming,
        html! {
            h2 { "Order " (order.number) }
            div.cart { p { "1 × " (order.item) } }
            div.box { (state(order)) }
            @if !order.history.is_empty() {
                details {
                    summary { "What happened" }
                    ol.history {
                        @for step in &order.history {
                            li { (time(step.at)) " — " (step.what) }
                        }
                    }
                }
            }
        },
    )
}

fn state(order: &Order) -> Markup {
    let again = html! { p { a href="/" { "Try again" } } };
    match &order.state {
        OrderState::Sending => html! { p.wait { "Asking your Passport…" } },
        OrderState::Waiting => html! {
            p.wait { strong { "Waiting for you to approve on your node." } }
            p {
                "Open your Passport (its consent page, or " code { "passport inbox" } ") and approve "
                "“delivery of order " (order.number) "”. This page updates by itself."
            }
        },
        OrderState::Granted => html! { p.wait { "Approved. Reading your delivery details…" } },
        OrderState::Filled => html! {
            p.ok { strong { "Filled from your Passport." } }
            @if let Some(delivery) = &order.delivery {
                dl {
                    dt { "Name" }
                    dd {
                        (delivery.get("name.given").map_or("", String::as_str)) " "
                        (delivery.get("name.family").map_or("", String::as_str))
                    }
                    dt { "Address" }
                    dd { (delivery.get("address.home").map_or("(not shared)", String::as_str)) }
                }
            }
            @if let Some(until) = order.grant.as_ref().and_then(|g| g.expires_at.as_deref()) {
                p { small { "We keep these until " (until) ", or until you revoke the grant from your Passport; then we delete them." } }
            }
        },
        OrderState::Refused { reason } => html! {
            p.error { "You declined" @if !reason.is_empty() { ": “" (reason) "”" } ". Nothing was shared." }
            (again)
        },
        OrderState::Expired => html! {
            p.error { "The request expired before you answered." }
            (again)
        },
        OrderState::Failed { error } => html! {
            p.error { "We could not get your details: " (error) }
            (again)
        },
        OrderState::Erased => html! {
            @if let Some(erasure) = &order.erasure {
                p { strong { "Your personal data for this order was deleted" } " (" (erasure.why) ", " (time(erasure.at)) ")." }
                p {
                    @match erasure.confirmation {
                        Confirmation::Pending => span.wait { "Telling your Passport…" },
                        Confirmation::Confirmed => span.ok { "Your Passport was told: it sends you a signed deletion receipt." },
                        Confirmation::NotHeld => "The merchant node no longer holds the grant.",
                        Confirmation::NothingWaiting => "The merchant node had already sent you its deletion receipt.",
                        Confirmation::NotAsked => "",
                    }
                }
            }
        },
    }
}

/// An order that does not exist.
pub(crate) fn not_found() -> Markup {
    page(
        "No such order",
        false,
        html! {
            h2 { "No such order" }
            p { a href="/" { "Back to the shop" } }
        },
    )
}

/// The shop could not do what was asked.
pub(crate) fn error(message: &str) -> Markup {
    page(
        "Sorry",
        false,
        html! {
            h2 { "Sorry" }
            p.error { (message) }
            p { a href="/" { "Back to the shop" } }
        },
    )
}
