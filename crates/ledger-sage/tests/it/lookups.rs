//! Finding records by our own keys when the idempotency window has passed: exact, not Sage's fuzzy search.
use ledger_domain::sage::{PostAllocatedArtefact, PostContact, PostContactPayment, PostProduct};
use rust_decimal::Decimal;

use crate::support::Sim;
use crate::writes::{books, customer, invoice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_found_by_their_exact_keys_and_not_by_near_matches() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Lookup").await;
    let near = b.create_sales_invoice(&invoice(&contact, &books, "1000000421", "10.00", "2.00")).await.unwrap();
    let exact = b.create_sales_invoice(&invoice(&contact, &books, "100000042", "10.00", "2.00")).await.unwrap();
    let found = b.sales_invoice_by_reference("100000042", Some(&contact)).await.unwrap().expect("found");
    assert_eq!(found.id, exact.id, "not {}", near.id);
    b.void_sales_invoice(&exact.id, "test").await.unwrap();
    assert!(b.sales_invoice_by_reference("100000042", None).await.unwrap().is_none(), "a void invoice is not it");
    assert!(b.sales_credit_note_by_reference("100000042", None).await.unwrap().is_none());

    let named = PostContact {
        name: "Mabel".into(),
        contact_type_ids: vec!["CUSTOMER".into()],
        reference: Some("MAB1".into()),
        ..Default::default()
    };
    let mabel = b.create_contact(&named).await.unwrap();
    assert_eq!(b.contact_by_reference("mab1").await.unwrap().map(|c| c.id), Some(mabel.id));
    assert!(b.contact_by_reference("MAB").await.unwrap().is_none());

    let receipt = PostContactPayment {
        transaction_type_id: "CUSTOMER_RECEIPT".into(),
        contact_id: contact.clone(),
        bank_account_id: books.bank.clone(),
        date: chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        total_amount: Decimal::from(12),
        reference: Some("1000000421".into()),
        allocated_artefacts: vec![PostAllocatedArtefact {
            artefact_id: near.id.clone(),
            amount: Decimal::from(12),
            discount: None,
        }],
        ..Default::default()
    };
    let paid = b.create_contact_payment(&receipt).await.unwrap();
    let found = b.contact_payment_by_reference(&contact, "CUSTOMER_RECEIPT", "1000000421").await.unwrap();
    assert_eq!(found.map(|p| p.id), Some(paid.id));
    assert!(b.contact_payment_by_reference(&contact, "CUSTOMER_REFUND", "1000000421").await.unwrap().is_none());

    let product = PostProduct {
        description: "Thing".into(),
        item_code: Some("SKU-10".into()),
        sales_ledger_account_id: books.sales.clone(),
        purchase_ledger_account_id: books.purchase.clone(),
        ..Default::default()
    };
    let p = b.create_product(&PostProduct { item_code: Some("SKU-100".into()), ..product.clone() }).await.unwrap();
    assert!(b.product_by_item_code("SKU-10").await.unwrap().is_none(), "SKU-100 is not SKU-10");
    assert_eq!(b.product_by_item_code("SKU-100").await.unwrap().map(|x| x.id), Some(p.id));
    assert!(b.service_by_item_code("SKU-100").await.unwrap().is_none());
    assert!(b.stock_item_by_item_code("SKU-100").await.unwrap().is_none());
}
