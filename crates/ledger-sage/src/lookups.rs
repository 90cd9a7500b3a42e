//! Finding records by our own keys, for what the 7-day idempotency window no longer covers (spec §7):
//! Sage's `search` also matches names and descriptions, so every lookup compares the key exactly.
use ledger_domain::sage::{Contact, ContactPayment, Product, SalesCreditNote, SalesInvoice, Service, StockItem};

use crate::business::SageBusiness;
use crate::errors::SageClientError;
use crate::queries::{ArtefactQuery, CatalogQuery, ContactQuery, PaymentQuery};

type Result<T> = std::result::Result<T, SageClientError>;

const INVOICE_KEYS: &str = "reference,status,contact,invoice_number,total_amount,outstanding_amount";
const CREDIT_NOTE_KEYS: &str = "reference,status,contact,credit_note_number,total_amount,outstanding_amount";

impl SageBusiness {
    /// The live (non-void) invoice whose `reference` is exactly `reference`, of `contact_id` when given.
    pub async fn sales_invoice_by_reference(
        &self,
        reference: &str,
        contact_id: Option<&str>,
    ) -> Result<Option<SalesInvoice>> {
        let query = ArtefactQuery {
            search: Some(reference.to_owned()),
            contact_id: contact_id.map(str::to_owned),
            attributes: Some(INVOICE_KEYS.to_owned()),
            ..Default::default()
        };
        let found = self.sales_invoices(&query).await?;
        Ok(found.into_iter().find(|i| i.reference.as_deref() == Some(reference) && i.status_id() != Some("VOID")))
    }

    /// The live (non-void) credit note whose `reference` is exactly `reference`.
    pub async fn sales_credit_note_by_reference(
        &self,
        reference: &str,
        contact_id: Option<&str>,
    ) -> Result<Option<SalesCreditNote>> {
        let query = ArtefactQuery {
            search: Some(reference.to_owned()),
            contact_id: contact_id.map(str::to_owned),
            attributes: Some(CREDIT_NOTE_KEYS.to_owned()),
            ..Default::default()
        };
        let found = self.sales_credit_notes(&query).await?;
        Ok(found.into_iter().find(|c| c.reference.as_deref() == Some(reference) && c.status_id() != Some("VOID")))
    }

    /// The contact whose `reference` is exactly `reference` (case-insensitive, as Sage keeps them unique).
    pub async fn contact_by_reference(&self, reference: &str) -> Result<Option<Contact>> {
        let query = ContactQuery {
            search: Some(reference.to_owned()),
            attributes: Some("reference,name,currency,contact_types".to_owned()),
            ..Default::default()
        };
        let found = self.contacts(&query).await?;
        Ok(found.into_iter().find(|c| c.reference.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(reference))))
    }

    /// The payment of `contact_id` of type `transaction_type_id` whose `reference` is exactly `reference`.
    pub async fn contact_payment_by_reference(
        &self,
        contact_id: &str,
        transaction_type_id: &str,
        reference: &str,
    ) -> Result<Option<ContactPayment>> {
        let query = PaymentQuery {
            contact_id: Some(contact_id.to_owned()),
            transaction_type_id: Some(transaction_type_id.to_owned()),
            attributes: Some("reference,total_amount,transaction_type,allocated_artefacts".to_owned()),
            ..Default::default()
        };
        let found = self.contact_payments(&query).await?;
        Ok(found.into_iter().find(|p| p.reference.as_deref() == Some(reference)))
    }

    /// The product whose `item_code` is exactly `item_code`.
    pub async fn product_by_item_code(&self, item_code: &str) -> Result<Option<Product>> {
        let found = self.products(&item_query(item_code)).await?;
        Ok(found.into_iter().find(|p| p.item_code.as_deref() == Some(item_code)))
    }

    /// The service whose `item_code` is exactly `item_code`.
    pub async fn service_by_item_code(&self, item_code: &str) -> Result<Option<Service>> {
        let found = self.services(&item_query(item_code)).await?;
        Ok(found.into_iter().find(|s| s.item_code.as_deref() == Some(item_code)))
    }

    /// The stock item whose `item_code` is exactly `item_code`.
    pub async fn stock_item_by_item_code(&self, item_code: &str) -> Result<Option<StockItem>> {
        let found = self.stock_items(&item_query(item_code)).await?;
        Ok(found.into_iter().find(|s| s.item_code.as_deref() == Some(item_code)))
    }
}

fn item_query(item_code: &str) -> CatalogQuery {
    CatalogQuery {
        search: Some(item_code.to_owned()),
        attributes: Some("item_code,description,active".to_owned()),
        ..Default::default()
    }
}
