//! Every resource method the sync engine uses, end to end against sage-sim: reference data, the
//! businesses and user, and reads back of what the writes created.
use ledger_domain::sage::{PostContact, PostContactPerson};
use ledger_sage::queries::{ContactQuery, LedgerAccountQuery, PageQuery, TaxRateQuery};
use rust_decimal::Decimal;

use crate::support::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn businesses_and_user_are_read_without_x_business() {
    let s = Sim::start().await;
    let businesses = s.client.businesses().await.unwrap();
    assert_eq!(businesses.len(), 3);
    let plus = s.client.business_details(s.plus.as_str()).await.unwrap();
    assert_eq!(plus.id, s.plus.as_str());
    assert!(plus.active_subscription_ids().any(|id| id == "ACCOUNTING"), "{plus:?}");
    assert_eq!(s.client.lead_business().await.unwrap().id, s.plus.as_str());
    let user = s.client.user().await.unwrap();
    assert_eq!(user.email.as_deref(), Some("owner@sage-sim.test"));
    let calls = s.log.take();
    assert_eq!(calls.len(), 4);
    assert!(calls.iter().all(|c| c.business.is_none() && c.status == Some(200)), "{calls:?}");
    assert_eq!(s.gate.admitted_unscoped.load(std::sync::atomic::Ordering::SeqCst), 4, "every call passes the gate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_reads_into_typed_models() {
    let s = Sim::start().await;
    let b = s.plus();
    let rates = b.tax_rates(&TaxRateQuery { attributes: Some("all".into()), ..Default::default() }).await.unwrap();
    let standard = rates.iter().find(|r| r.id == "GB_STANDARD").expect("GB_STANDARD");
    assert_eq!(standard.percentage, Some(Decimal::from(20)));
    let sales = b
        .ledger_accounts(&LedgerAccountQuery {
            visible_in: Some("sales".into()),
            attributes: Some("all".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(sales.iter().any(|l| l.nominal_code == Some(4000)), "{sales:?}");
    assert!(sales.iter().all(|l| l.nominal_code != Some(1200)), "the bank account is not a sales account");
    let banks = b.bank_accounts(&PageQuery::all()).await.unwrap();
    assert_eq!(banks[0].bank_account_type.as_ref().map(|t| t.id.as_str()), Some("CHECKING"));
    let methods = b.payment_methods().await.unwrap();
    for id in ["CASH", "CREDIT_DEBIT", "ELECTRONIC"] {
        assert!(methods.iter().any(|m| m.id == id), "{id} in {methods:?}");
    }
    let currencies = b.currencies().await.unwrap();
    assert!(currencies.iter().any(|c| c.id == "EUR"));
    let fin = b.financial_settings().await.unwrap();
    assert_eq!(fin.base_currency.map(|c| c.id), Some("GBP".to_owned()));
    assert_eq!(fin.multi_currency_enabled, Some(true));
    assert!(fin.accounts_start_date.is_some());
    let inv = b.invoice_settings().await.unwrap();
    assert_eq!(inv.sales_invoice_number_prefix.as_deref(), Some("SI-"));
    let settings = b.business_settings().await.unwrap();
    assert!(settings.default_ledger_accounts.and_then(|d| d.sales_ledger_account).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_created_found_updated_and_deleted() {
    let s = Sim::start().await;
    let b = s.plus();
    let body = PostContact {
        name: "Jo Bloggs".into(),
        contact_type_ids: vec!["CUSTOMER".into()],
        reference: Some("M0000042".into()),
        currency_id: Some("GBP".into()),
        main_contact_person: Some(PostContactPerson {
            name: Some("Jo Bloggs".into()),
            email: Some("jo@example.test".into()),
            is_main_contact: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = b.create_contact(&body).await.unwrap();
    assert!(created.is_type("CUSTOMER"));
    assert_eq!(created.reference.as_deref(), Some("M0000042"));
    let found = b
        .contacts(&ContactQuery {
            search: Some("M0000042".into()),
            attributes: Some("reference".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    let by_email =
        b.contacts(&ContactQuery { email: Some("jo@example.test".into()), ..Default::default() }).await.unwrap();
    assert_eq!(by_email.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&created.id], "found by contact-person email");
    let renamed = b.update_contact(&created.id, &PostContact { name: "Jo Smith".into(), ..body }).await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Jo Smith"));
    assert_eq!(b.contact(&created.id).await.unwrap().name.as_deref(), Some("Jo Smith"));
    b.delete_contact(&created.id).await.unwrap();
    let gone = b.contact(&created.id).await.unwrap_err();
    assert_eq!(gone.class(), ledger_domain::ErrorClass::NotFound, "{gone}");
}
