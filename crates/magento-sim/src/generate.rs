//! Deterministic store generation from a seed: catalog, customers, orders, invoices, refunds.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::catalog::{BuyerChoice, Catalog, phone, sample_address};
use crate::model::{Customer, InvoiceState, Product, ProductType};
use crate::regions::{self, COUNTRIES, Country, Market};

const FIRST: &[&str] = &[
    "Olivia", "Amelia", "Noah", "Zoë", "Liam", "Sophie", "Lukas", "Chloé", "Seán", "Emma", "Mateo", "Isla", "Jack",
    "Freya", "Björn", "Ava",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Müller", "O'Brien", "Dubois", "de Vries", "Taylor", "García", "Brown", "Wilson", "Fischer",
    "Murphy", "Evans", "Rossi",
];
const COMPANIES: &[&str] = &[
    "Acme Trading Ltd",
    "Nordlicht GmbH",
    "Boulangerie Dupont SARL",
    "Van Dijk B.V.",
    "Harbour & Co Ltd",
    "Liffey Supplies Ltd",
];

/// The fixed "now" the seeded history is laid out before.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default()
}

/// Mixes a store number into the seed (splitmix64), so each store differs but is reproducible.
pub fn store_seed(seed: u64, store: usize) -> u64 {
    let mut z = seed.wrapping_add((store as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random person's name.
pub fn person<R: Rng>(rng: &mut R) -> (String, String) {
    let f = FIRST.choose(rng).copied().unwrap_or("Alex");
    let l = LAST.choose(rng).copied().unwrap_or("Doe");
    (f.to_owned(), l.to_owned())
}

/// An email for a name, unique by `n`.
pub fn email(first: &str, last: &str, n: u64) -> String {
    let clean = |s: &str| -> String { s.chars().filter(char::is_ascii_alphabetic).collect::<String>().to_lowercase() };
    format!("{}.{}{n}@example.com", clean(first), clean(last))
}

const PRODUCT_PLAN: &[(ProductType, &str, &str, usize)] = &[
    (ProductType::Simple, "MUG", "Enamel Camping Mug", 8),
    (ProductType::Virtual, "GIFT", "Gift Card", 4),
    (ProductType::Downloadable, "EBOOK", "Field Guide eBook", 3),
    (ProductType::Configurable, "TEE", "Organic Cotton Tee", 5),
    (ProductType::Bundle, "KIT", "Starter Kit Bundle", 4),
];

/// A new product of a type, numbered `n` within its type.
pub fn make_product<R: Rng>(
    rng: &mut R,
    id: u64,
    ty: ProductType,
    sku_base: &str,
    name: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Product {
    let price = Decimal::new(rng.gen_range(499..12_999), 2);
    let price = if n.is_multiple_of(4) { price.trunc() } else { price };
    let managed = ty == ProductType::Simple || (ty == ProductType::Configurable && n.is_multiple_of(2));
    Product {
        id,
        sku: format!("{sku_base}-{n:03}"),
        name: format!("{name} {n}"),
        product_type: ty,
        price: Some(price),
        special_price: (n % 5 == 3).then(|| (price * dec!(0.8)).round_dp(2)),
        cost: (!n.is_multiple_of(3)).then(|| (price * dec!(0.45)).round_dp(2)),
        weight: ty.ships().then(|| Decimal::new(rng.gen_range(1..40), 1)),
        manage_stock: managed,
        stock_qty: managed.then(|| Decimal::from(rng.gen_range(0..250))),
        tax_class_id: match (ty, n % 6) {
            (ProductType::Downloadable, 0) | (_, 5) => 0,
            (_, 4) => 5,
            _ => 2,
        },
        website_ids: vec![1],
        created_at: now,
        updated_at: now,
    }
}

/// A new customer in `country`; `company` makes it a B2B account with a VAT number.
pub fn make_customer<R: Rng>(
    rng: &mut R,
    id: u64,
    country: &'static Country,
    company: Option<&str>,
    with_addresses: bool,
    now: DateTime<Utc>,
) -> Customer {
    let (first, last) = person(rng);
    let phone = phone(rng, country);
    let company = company.map(str::to_owned);
    let vat_number =
        company.as_ref().map(|_| format!("{}{}", country.vat_prefix, rng.gen_range(100_000_000u64..999_999_999)));
    let addr = with_addresses.then(|| sample_address(country, company.clone(), Some(phone.clone())));
    Customer {
        id,
        email: email(&first, &last, id),
        first_name: first,
        last_name: last,
        group_id: if company.is_some() { 2 } else { 1 },
        company,
        vat_number,
        phone: Some(phone),
        website_id: 1,
        billing: addr.clone(),
        shipping: addr,
        created_at: now,
        updated_at: now,
    }
}

/// A guest buyer in `market`.
pub fn guest<R: Rng>(rng: &mut R, market: Market, n: u64) -> BuyerChoice {
    let countries: Vec<&'static Country> = regions::in_market(market).collect();
    let country = countries.choose(rng).copied().unwrap_or(&COUNTRIES[0]);
    let (first_name, last_name) = person(rng);
    BuyerChoice::Guest {
        country,
        email: email(&first_name, &last_name, 9_000 + n),
        first_name,
        last_name,
        company: None,
    }
}

/// Builds the seeded store. The mix is fixed (every seed has every kind of entity);
/// the seed picks names, prices, quantities and dates.
pub fn generate(seed: u64) -> Catalog {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cat = Catalog::default();
    let t0 = epoch() - Duration::days(200);
    for (ty, sku, name, count) in PRODUCT_PLAN {
        for n in 1..=*count {
            let id = cat.next_product_id();
            let when = t0 + Duration::minutes(rng.gen_range(0..60 * 24 * 30));
            cat.products.insert(id, make_product(&mut rng, id, *ty, sku, name, n, when));
        }
    }
    // 18 customers: UK, EU and elsewhere; four B2B companies (two UK, two EU).
    let markets = [Market::Uk, Market::Eu, Market::World];
    for i in 0..18u64 {
        let market = markets[(i % 3) as usize];
        let countries: Vec<&'static Country> = regions::in_market(market).collect();
        let country = countries[(i / 3) as usize % countries.len()];
        let company = match i {
            0 | 3 => Some(COMPANIES[i as usize % 2 * 4]),
            1 | 4 => Some(COMPANIES[1 + (i as usize / 4) * 2]),
            _ => None,
        };
        let when = t0 + Duration::days(30) + Duration::minutes(rng.gen_range(0..60 * 24 * 60));
        let id = cat.next_customer_id();
        let c = make_customer(&mut rng, id, country, company, i % 7 != 6, when);
        cat.customers.insert(id, c);
    }
    // 40 orders over the 60 days before the epoch; every fifth one a guest.
    let customer_ids: Vec<u64> = cat.customers.keys().copied().collect();
    for j in 0..40u64 {
        let when = epoch() - Duration::days(60) + Duration::minutes((j as i64) * 2_000 + rng.gen_range(0..600));
        let buyer = if j % 5 == 4 {
            guest(&mut rng, markets[(j / 5) as usize % 3], j)
        } else {
            BuyerChoice::Customer(customer_ids[(j as usize * 7) % customer_ids.len()])
        };
        let Some(order_id) = cat.create_order(&mut rng, &buyer, when) else {
            continue;
        };
        let paid = j % 3 != 1;
        let inv_at = when + Duration::minutes(5);
        let Some(inv_id) = cat.create_invoice(order_id, paid, inv_at) else {
            continue;
        };
        let refund_at = inv_at + Duration::days(3);
        // Each order is refunded at most once here, so every seeded credit memo is within what is refundable.
        let refunded = if paid && j % 6 == 0 {
            cat.create_credit_memo(&mut rng, order_id, Some(inv_id), Decimal::ZERO, refund_at).map(Some)
        } else if !paid && j % 9 == 1 {
            cat.create_credit_memo(&mut rng, order_id, None, Decimal::ZERO, refund_at).map(Some)
        } else {
            Ok(None)
        };
        if let Err(e) = refunded {
            tracing::warn!(order_id, error = %e, "seeded refund refused");
        }
    }
    // One cancelled invoice for good measure (it never emits events).
    if let Some(inv) = cat.invoices.values_mut().nth(2) {
        inv.state = InvoiceState::Cancelled;
    }
    cat
}
