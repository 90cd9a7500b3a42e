//! Documents, payments, allocations and the catalog written through the client, and idempotent replays.
use std::str::FromStr;

use chrono::NaiveDate;
use ledger_domain::sage::{
    PostAllocatedArtefact, PostArtefactLine, PostContact, PostContactAllocation, PostContactPayment, PostProduct,
    PostSalesCreditNote, PostSalesInvoice, PostService, PostStockItem, PostStockMovement, PutContactPayment,
};
use ledger_sage::queries::{ArtefactQuery, CatalogQuery, LedgerAccountQuery, PageQuery, PaymentQuery};
use ledger_sage::{SageBusiness, idempotency_id};
use rust_decimal::Decimal;

use crate::support::Sim;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
}

pub struct Books {
    pub sales: String,
    pub purchase: String,
    pub bank: String,
}

pub async fn books(b: &SageBusiness) -> Books {
    let all =
        b.ledger_accounts(&LedgerAccountQuery { attributes: Some("all".into()), ..Default::default() }).await.unwrap();
    let code = |c: i64| all.iter().find(|l| l.nominal_code == Some(c)).unwrap().id.clone();
    let bank = b.bank_accounts(&PageQuery::default()).await.unwrap()[0].id.clone();
    Books { sales: code(4000), purchase: code(5000), bank }
}

pub async fn customer(b: &SageBusiness, name: &str) -> String {
    let body = PostContact { name: name.into(), contact_type_ids: vec!["CUSTOMER".into()], ..Default::default() };
    b.create_contact(&body).await.unwrap().id
}

pub fn invoice(contact: &str, books: &Books, reference: &str, net: &str, tax: &str) -> PostSalesInvoice {
    PostSalesInvoice {
        contact_id: contact.into(),
        date: day(),
        reference: Some(reference.into()),
        invoice_lines: vec![PostArtefactLine {
            description: "Widget".into(),
            ledger_account_id: books.sales.clone(),
            quantity: Some(d("1")),
            unit_price: d(net),
            tax_rate_id: Some("GB_STANDARD".into()),
            tax_amount: Some(d(tax)),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_is_posted_read_paid_by_a_receipt_and_listed() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Payer").await;
    let mut body = invoice(&contact, &books, "100000001", "100.00", "20.00");
    body.idempotency_id = Some(idempotency_id("t|b|invoice|1|create|v1"));
    let created = b.create_sales_invoice(&body).await.unwrap();
    assert_eq!(created.status_id(), Some("UNPAID"));
    assert_eq!(created.total_amount, Some(d("120")));
    assert_eq!(created.invoice_number.as_deref(), created.displayed_as.as_deref());
    let read = b.sales_invoice(&created.id).await.unwrap();
    assert_eq!(read.sent, Some(false), "reading never marks as sent");
    assert_eq!(read.outstanding_amount, Some(d("120")));

    let receipt = PostContactPayment {
        transaction_type_id: "CUSTOMER_RECEIPT".into(),
        contact_id: contact.clone(),
        bank_account_id: books.bank.clone(),
        payment_method_id: Some("CREDIT_DEBIT".into()),
        date: day(),
        total_amount: d("120.00"),
        reference: Some("100000001".into()),
        allocated_artefacts: vec![PostAllocatedArtefact {
            artefact_id: created.id.clone(),
            amount: d("120.00"),
            discount: None,
        }],
        idempotency_id: Some(idempotency_id("t|b|receipt|1|create|v1")),
        ..Default::default()
    };
    let payment = b.create_contact_payment(&receipt).await.unwrap();
    assert_eq!(payment.allocated_artefacts[0].artefact.as_ref().map(|a| a.id.as_str()), Some(created.id.as_str()));
    let paid = b.sales_invoice(&created.id).await.unwrap();
    assert_eq!(paid.status_id(), Some("PAID"));
    assert_eq!(paid.payments_allocations.len(), 1, "{paid:?}");
    assert_eq!(b.contact_payment(&payment.id).await.unwrap().total_amount, Some(d("120")));
    let listed =
        b.contact_payments(&PaymentQuery { contact_id: Some(contact.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    let found = b
        .sales_invoices(&ArtefactQuery {
            search: Some("100000001".into()),
            attributes: Some("reference,status".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|i| i.reference.as_deref()).collect::<Vec<_>>(), vec![Some("100000001")]);

    b.delete_contact_payment(&payment.id).await.unwrap();
    assert_eq!(
        b.sales_invoice(&created.id).await.unwrap().status_id(),
        Some("UNPAID"),
        "deleting the payment reopens it"
    );
    let void = b.void_sales_invoice(&created.id, "Cancelled in Magento").await.unwrap();
    assert_eq!(void.status_id(), Some("VOID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_note_is_allocated_against_its_invoice() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Refunded").await;
    let inv = b.create_sales_invoice(&invoice(&contact, &books, "100000002", "50.00", "10.00")).await.unwrap();
    let note = PostSalesCreditNote {
        contact_id: contact.clone(),
        date: day(),
        reference: Some("CM100000002".into()),
        original_invoice_date: Some(day()),
        credit_note_lines: invoice(&contact, &books, "x", "50.00", "10.00").invoice_lines,
        idempotency_id: Some(idempotency_id("t|b|credit|2|create|v1")),
        ..Default::default()
    };
    let credit = b.create_sales_credit_note(&note).await.unwrap();
    assert_eq!(credit.total_amount, Some(d("60")));
    assert_eq!(b.sales_credit_note(&credit.id).await.unwrap().status_id(), Some("UNPAID"));
    let allocation = PostContactAllocation {
        transaction_type_id: "CUSTOMER_ALLOCATION".into(),
        contact_id: contact.clone(),
        date: Some(day()),
        allocated_artefacts: vec![
            PostAllocatedArtefact { artefact_id: inv.id.clone(), amount: d("60.00"), discount: None },
            PostAllocatedArtefact { artefact_id: credit.id.clone(), amount: d("-60.00"), discount: None },
        ],
        idempotency_id: Some(idempotency_id("t|b|alloc|2|create|v1")),
    };
    let alloc = b.create_contact_allocation(&allocation).await.unwrap();
    assert_eq!(alloc.allocated_artefacts.len(), 2);
    assert_eq!(b.sales_invoice(&inv.id).await.unwrap().status_id(), Some("PAID"));
    assert_eq!(b.contact_allocation(&alloc.id).await.unwrap().id, alloc.id);
    assert_eq!(b.contact_allocations(&Default::default()).await.unwrap().len(), 1);
    assert_eq!(b.sales_credit_notes(&ArtefactQuery::default()).await.unwrap().len(), 1);
    b.delete_contact_allocation(&alloc.id).await.unwrap();
    assert_eq!(b.sales_invoice(&inv.id).await.unwrap().status_id(), Some("UNPAID"));
    let void = b.void_sales_credit_note(&credit.id, "Test").await.unwrap();
    assert_eq!(void.status_id(), Some("VOID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_released_and_an_invoice_updated_in_place() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Drafty").await;
    let mut body = invoice(&contact, &books, "100000003", "10.00", "2.00");
    body.status_id = Some("DRAFT".into());
    let draft = b.create_sales_invoice(&body).await.unwrap();
    assert_eq!(draft.status_id(), Some("DRAFT"));
    assert!(draft.transaction.is_none(), "a draft posts nothing");
    let released = b.release_sales_invoice(&draft.id).await.unwrap();
    assert_eq!(released.status_id(), Some("UNPAID"));

    let mut body = invoice(&contact, &books, "100000004", "10.00", "2.00");
    let posted = b.create_sales_invoice(&body).await.unwrap();
    body.notes = Some("updated".into());
    let updated = b.update_sales_invoice(&posted.id, &body).await.unwrap();
    assert_eq!(updated.notes.as_deref(), Some("updated"));
    assert_eq!((updated.id, updated.invoice_number), (posted.id, posted.invoice_number));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_services_and_stock_are_created_updated_and_moved() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let mut product = PostProduct {
        description: "Simple product".into(),
        item_code: Some("SKU-1".into()),
        sales_ledger_account_id: books.sales.clone(),
        purchase_ledger_account_id: books.purchase.clone(),
        sales_tax_rate_id: Some("GB_STANDARD".into()),
        idempotency_id: Some(idempotency_id("t|b|product|1|create|v1")),
        ..Default::default()
    };
    let p = b.create_product(&product).await.unwrap();
    product.description = "Renamed product".into();
    product.idempotency_id = Some(idempotency_id("t|b|product|1|update|v2"));
    assert_eq!(b.update_product(&p.id, &product).await.unwrap().description.as_deref(), Some("Renamed product"));
    assert_eq!(b.product(&p.id).await.unwrap().item_code.as_deref(), Some("SKU-1"));
    let by_code = b.products(&CatalogQuery { search: Some("SKU-1".into()), ..Default::default() }).await.unwrap();
    assert_eq!(by_code.len(), 1);

    let mut service = PostService {
        description: "Download".into(),
        item_code: Some("DL-1".into()),
        sales_ledger_account_id: books.sales.clone(),
        ..Default::default()
    };
    let sv = b.create_service(&service).await.unwrap();
    service.notes = Some("virtual".into());
    assert_eq!(b.update_service(&sv.id, &service).await.unwrap().notes.as_deref(), Some("virtual"));
    assert_eq!(b.service(&sv.id).await.unwrap().id, sv.id);
    assert_eq!(b.services(&CatalogQuery::default()).await.unwrap().len(), 1);

    let mut item = PostStockItem {
        item_code: "STK-1".into(),
        description: "Stocked".into(),
        sales_ledger_account_id: books.sales.clone(),
        purchase_ledger_account_id: books.purchase.clone(),
        cost_price: Some(d("4.00")),
        ..Default::default()
    };
    let st = b.create_stock_item(&item).await.unwrap();
    item.reorder_level = Some(d("3"));
    assert_eq!(b.update_stock_item(&st.id, &item).await.unwrap().reorder_level, Some(d("3")));
    let movement = PostStockMovement {
        stock_item_id: st.id.clone(),
        date: day(),
        quantity: d("12"),
        cost_price: d("4.00"),
        details: "Magento stock reconciliation".into(),
        idempotency_id: Some(idempotency_id("t|b|stock|1|v1")),
        ..Default::default()
    };
    let m = b.create_stock_movement(&movement).await.unwrap();
    assert_eq!(m.quantity, Some(d("12")));
    assert_eq!(b.stock_item(&st.id).await.unwrap().quantity_in_stock, Some(d("12")));
    assert_eq!(b.stock_items(&CatalogQuery::default()).await.unwrap().len(), 1);
    assert_eq!(b.stock_movements(&Default::default()).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_create_with_the_same_idempotency_id_returns_the_first_record() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Replay").await;
    let mut body = invoice(&contact, &books, "100000009", "10.00", "2.00");
    body.idempotency_id = Some(idempotency_id("tenant|plus|sales_invoice|9|create|v1"));
    let first = b.create_sales_invoice(&body).await.unwrap();
    let again = b.create_sales_invoice(&body).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(first.invoice_number, again.invoice_number);
    assert_eq!(s.records(&s.plus, "sales_invoices").await.len(), 1, "no second invoice");
    assert_eq!(s.duplicates().await, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_is_unallocated_by_a_partial_update_and_refunded_from_its_payment_on_account() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Unallocated").await;
    let inv = b.create_sales_invoice(&invoice(&contact, &books, "100000010", "25.00", "5.00")).await.unwrap();
    let receipt = PostContactPayment {
        transaction_type_id: "CUSTOMER_RECEIPT".into(),
        contact_id: contact.clone(),
        bank_account_id: books.bank.clone(),
        date: day(),
        total_amount: d("30.00"),
        allocated_artefacts: vec![PostAllocatedArtefact {
            artefact_id: inv.id.clone(),
            amount: d("30.00"),
            discount: None,
        }],
        ..Default::default()
    };
    let paid = b.create_contact_payment(&receipt).await.unwrap();
    let clear = PutContactPayment { allocated_artefacts: Some(vec![]), ..Default::default() };
    let cleared = b.update_contact_payment(&paid.id, &clear).await.unwrap();
    assert!(cleared.allocated_artefacts.is_empty(), "{cleared:?}");
    let on_account = cleared.payment_on_account.expect("the whole receipt is now on account");
    assert_eq!(on_account.outstanding_amount, Some(d("30")));
    assert_eq!(b.sales_invoice(&inv.id).await.unwrap().status_id(), Some("UNPAID"));
    let refund = PostContactPayment {
        transaction_type_id: "CUSTOMER_REFUND".into(),
        contact_id: contact.clone(),
        bank_account_id: books.bank.clone(),
        date: day(),
        total_amount: d("30.00"),
        allocated_artefacts: vec![PostAllocatedArtefact {
            artefact_id: on_account.id,
            amount: d("30.00"),
            discount: None,
        }],
        idempotency_id: Some(idempotency_id("t|b|refund|10|create|v1")),
        ..Default::default()
    };
    let refunded = b.create_contact_payment(&refund).await.unwrap();
    assert_eq!(refunded.transaction_type.map(|t| t.id), Some("CUSTOMER_REFUND".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_note_is_updated_in_place() {
    let s = Sim::start().await;
    let b = s.plus();
    let books = books(&b).await;
    let contact = customer(&b, "Noted").await;
    let mut note = PostSalesCreditNote {
        contact_id: contact.clone(),
        date: day(),
        reference: Some("CM100000011".into()),
        credit_note_lines: invoice(&contact, &books, "x", "10.00", "2.00").invoice_lines,
        ..Default::default()
    };
    let credit = b.create_sales_credit_note(&note).await.unwrap();
    note.notes = Some("customer returned it".into());
    let updated = b.update_sales_credit_note(&credit.id, &note).await.unwrap();
    assert_eq!(updated.notes.as_deref(), Some("customer returned it"));
    assert_eq!((updated.id, updated.credit_note_number), (credit.id, credit.credit_note_number));
}
