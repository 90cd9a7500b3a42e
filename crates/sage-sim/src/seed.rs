//! Deterministic seed data: one user owning three UK businesses (Plus lead, Standard, Start).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, TimeZone, Utc};
use rand::Rng;
use rust_decimal::Decimal;

use crate::config::{FxDirection, SimConfig};
use crate::model::{BankAccount, LedgerAccount, TaxRate, Tier};
use crate::state::{Business, User, World, hex_id, rng_for};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn tax_rates(config: &SimConfig) -> Vec<TaxRate> {
    let mut v: Vec<TaxRate> = [
        ("GB_STANDARD", "Standard", "Standard 20.00%", Decimal::new(20, 0), false),
        ("GB_LOWER", "Lower Rate", "Lower Rate 5.00%", Decimal::new(5, 0), false),
        ("GB_ZERO", "Zero Rated", "Zero Rated 0.00%", Decimal::ZERO, true),
        ("GB_EXEMPT", "Exempt", "Exempt 0.00%", Decimal::ZERO, true),
        ("GB_NO_TAX", "No VAT", "No VAT", Decimal::ZERO, true),
    ]
    .into_iter()
    .map(|(id, name, shown, pct, zero)| TaxRate {
        id: id.to_owned(),
        name: name.to_owned(),
        displayed_as: shown.to_owned(),
        percentage: pct,
        from_date: date(2011, 1, 4),
        zero_type: zero,
    })
    .collect();
    for x in &config.extra_tax_rates {
        v.push(TaxRate {
            id: x.id.clone(),
            name: x.name.clone(),
            displayed_as: format!("{} {}%", x.name, x.percentage.round_dp(2)),
            percentage: x.percentage,
            from_date: date(2000, 1, 1),
            zero_type: x.percentage.is_zero(),
        })
    }
    v
}

fn ledger_accounts(rng: &mut impl Rng) -> Vec<LedgerAccount> {
    let sales = vec!["sales", "reporting", "journals"];
    let mut acc =
        |name: &str, code: u32, ty: &'static str, scopes: Vec<&'static str>, tax: Option<&str>, control: bool| {
            LedgerAccount {
                id: hex_id(rng),
                name: name.to_owned(),
                nominal_code: code,
                account_type: ty,
                visible_scopes: scopes,
                tax_rate_id: tax.map(str::to_owned),
                is_control: control,
            }
        };
    vec![
        acc("Sales Type A", 4000, "SALES", sales.clone(), Some("GB_STANDARD"), false),
        acc("Sales Type B", 4010, "SALES", sales.clone(), Some("GB_STANDARD"), false),
        acc("Sales Type C", 4020, "SALES", sales.clone(), Some("GB_STANDARD"), false),
        acc("Discounts Allowed", 4009, "SALES", sales.clone(), Some("GB_STANDARD"), false),
        acc("Other Income", 4900, "OTHER_INCOME", sales.clone(), Some("GB_STANDARD"), false),
        acc("Carriage on Sales", 4905, "OTHER_INCOME", sales, Some("GB_STANDARD"), false),
        acc(
            "Cost of sales - goods",
            5000,
            "DIRECT_EXPENSES",
            vec!["purchasing", "reporting", "journals"],
            Some("GB_STANDARD"),
            false,
        ),
        acc("Current", 1200, "CURRENT_ASSETS", vec!["bank", "reporting"], None, false),
        acc("Trade Debtors", 1100, "CURRENT_ASSETS", vec!["reporting"], None, true),
        acc("Sales Tax Control Account", 2200, "CURRENT_LIABILITY", vec!["reporting"], None, true),
        acc("Exchange Rate Gains/Losses", 7906, "OVERHEADS", vec!["reporting", "journals"], None, false),
    ]
}

fn business(config: &SimConfig, index: u64, tier: Tier, name: &str, multi: bool) -> Business {
    let mut rng = rng_for(config.seed, 10 + index);
    let id = hex_id(&mut rng);
    let ledger_accounts = ledger_accounts(&mut rng);
    let bank_ledger = ledger_accounts.iter().find(|l| l.nominal_code == 1200).map(|l| l.id.clone()).unwrap_or_default();
    let bank = BankAccount {
        id: hex_id(&mut rng),
        name: "Current".to_owned(),
        nominal_code: 1200,
        ledger_account_id: bank_ledger,
        currency: "GBP".to_owned(),
        default_payment_method: "ELECTRONIC".to_owned(),
        balance: Decimal::ZERO,
    };
    let mut payment_methods: Vec<(String, String)> = vec![
        ("CASH".to_owned(), "Cash".to_owned()),
        ("CREDIT_DEBIT".to_owned(), "Credit/Debit Card".to_owned()),
        ("ELECTRONIC".to_owned(), "Electronic".to_owned()),
    ];
    for m in &config.extra_payment_methods {
        payment_methods.push((m.clone(), m.replace('_', " ")));
    }
    let rate = |foreign_per_base: Decimal| match config.fx_direction {
        FxDirection::ForeignPerBase => foreign_per_base,
        FxDirection::BasePerForeign => (Decimal::ONE / foreign_per_base).round_dp(6),
    };
    Business {
        id,
        name: name.to_owned(),
        tier,
        multi_currency: multi,
        created_at: Utc.with_ymd_and_hms(2024, 1, 2, 9, 0, 0).single().unwrap_or_default(),
        accounts_start_date: config.accounts_start_date,
        lockdown_date: config.lockdown_date,
        tax_rates: tax_rates(config),
        ledger_accounts,
        bank_accounts: vec![bank],
        currencies: vec![
            ("GBP".to_owned(), "Pound Sterling".to_owned()),
            ("EUR".to_owned(), "Euro".to_owned()),
            ("USD".to_owned(), "US Dollar".to_owned()),
        ],
        payment_methods,
        rates: vec![("EUR".to_owned(), rate(config.eur_per_gbp)), ("USD".to_owned(), rate(config.usd_per_gbp))],
        invoice_prefix: "SI-".to_owned(),
        credit_note_prefix: config.credit_note_prefix.clone(),
        next_invoice: 1,
        next_credit_note: 1,
        contacts: Default::default(),
        invoices: Default::default(),
        credit_notes: Default::default(),
        payments: Default::default(),
        allocations: Default::default(),
        products: Default::default(),
        services: Default::default(),
        stock_items: Default::default(),
        stock_movements: Default::default(),
        poa_index: HashMap::new(),
        idempotency: HashMap::new(),
        rng,
        mse: false,
        denied_areas: None,
        minute_window: (0, 0),
    }
}

/// Build the seeded world for `config.seed`.
pub fn world(config: &SimConfig) -> World {
    let mut rng = rng_for(config.seed, 1);
    let raw: u128 = rng.r#gen();
    let uuid = uuid::Uuid::from_u128(raw);
    let bizs = [
        business(config, 0, Tier::Plus, "Ledger Demo Plus Ltd", config.multi_currency[0]),
        business(config, 1, Tier::Standard, "Ledger Demo Standard Ltd", config.multi_currency[1]),
        business(config, 2, Tier::Start, "Ledger Demo Start Ltd", config.multi_currency[2]),
    ];
    let order: Vec<String> = bizs.iter().map(|b| b.id.clone()).collect();
    let user = User {
        id: uuid.simple().to_string(),
        uuid: uuid.hyphenated().to_string(),
        first_name: "Sam".to_owned(),
        last_name: "Simulator".to_owned(),
        email: "owner@sage-sim.test".to_owned(),
        businesses: order.clone(),
    };
    let businesses = bizs.into_iter().map(|b| (b.id.clone(), Arc::new(Mutex::new(b)))).collect();
    World { user, businesses, order }
}
