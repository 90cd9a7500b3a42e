//! Typed methods for every Sage resource the sync engine touches (spec §5), on [`SageBusiness`].
//! Creates and updates carry whatever `idempotency_id` the body holds (the engine derives it).
use ledger_domain::sage::{
    BankAccount, BusinessSettings, Contact, ContactAllocation, ContactPayment, Currency, FinancialSettings,
    InvoiceSettings, LedgerAccount, PaymentMethod, PostContact, PostContactAllocation, PostContactPayment, PostProduct,
    PostSalesCreditNote, PostSalesInvoice, PostService, PostStockItem, PostStockMovement, Product, PutContact,
    PutContactPayment, PutProduct, PutSalesCreditNote, PutSalesInvoice, PutService, PutStockItem, SalesCreditNote,
    SalesInvoice, Service, StockItem, StockMovement, TaxRate,
};
use serde::Serialize;

use crate::business::{SageBusiness, segment};
use crate::errors::SageClientError;
use crate::queries::{
    AllocationQuery, ArtefactQuery, CatalogQuery, ContactQuery, LedgerAccountQuery, PageQuery, PaymentQuery,
    StockMovementQuery, TaxRateQuery,
};

type Result<T> = std::result::Result<T, SageClientError>;

/// `GET /sales_invoices/{id}` and friends: never mark a document as sent by reading it (spec §5.2), and
/// show what paid it.
#[derive(Serialize)]
struct ReadDocument {
    mark_as_sent: bool,
    show_payments_allocations: bool,
}

const READ_DOCUMENT: ReadDocument = ReadDocument { mark_as_sent: false, show_payments_allocations: true };

#[derive(Serialize)]
struct VoidReason<'a> {
    void_reason: &'a str,
}

impl SageBusiness {
    // Contacts (§5.1)

    pub async fn contacts(&self, query: &ContactQuery) -> Result<Vec<Contact>> {
        self.list_all("/contacts", query).await
    }

    pub async fn contact(&self, id: &str) -> Result<Contact> {
        self.get(&format!("/contacts/{}", segment(id)?)).await
    }

    pub async fn create_contact(&self, body: &PostContact) -> Result<Contact> {
        self.create("/contacts", body).await
    }

    pub async fn update_contact(&self, id: &str, body: &PutContact) -> Result<Contact> {
        self.update(&format!("/contacts/{}", segment(id)?), body).await
    }

    /// Only contacts without documents or payments can go (204).
    pub async fn delete_contact(&self, id: &str) -> Result<()> {
        self.delete(&format!("/contacts/{}", segment(id)?)).await
    }

    // Sales invoices (§5.2)

    pub async fn sales_invoices(&self, query: &ArtefactQuery) -> Result<Vec<SalesInvoice>> {
        self.list_all("/sales_invoices", query).await
    }

    /// Read with `mark_as_sent=false` and its payments and allocations.
    pub async fn sales_invoice(&self, id: &str) -> Result<SalesInvoice> {
        self.get_with(&format!("/sales_invoices/{}", segment(id)?), &READ_DOCUMENT).await
    }

    pub async fn create_sales_invoice(&self, body: &PostSalesInvoice) -> Result<SalesInvoice> {
        self.create("/sales_invoices", body).await
    }

    pub async fn update_sales_invoice(&self, id: &str, body: &PutSalesInvoice) -> Result<SalesInvoice> {
        self.update(&format!("/sales_invoices/{}", segment(id)?), body).await
    }

    /// `DELETE` with a `void_reason` (max 200): answers the voided invoice.
    pub async fn void_sales_invoice(&self, id: &str, reason: &str) -> Result<SalesInvoice> {
        self.delete_returning(&format!("/sales_invoices/{}", segment(id)?), &VoidReason { void_reason: reason }).await
    }

    /// `DRAFT`/`PRO_FORMA` → `UNPAID`.
    pub async fn release_sales_invoice(&self, id: &str) -> Result<SalesInvoice> {
        self.post_empty(&format!("/sales_invoices/{}/release", segment(id)?)).await
    }

    // Sales credit notes (§5.3)

    pub async fn sales_credit_notes(&self, query: &ArtefactQuery) -> Result<Vec<SalesCreditNote>> {
        self.list_all("/sales_credit_notes", query).await
    }

    pub async fn sales_credit_note(&self, id: &str) -> Result<SalesCreditNote> {
        self.get_with(&format!("/sales_credit_notes/{}", segment(id)?), &READ_DOCUMENT).await
    }

    pub async fn create_sales_credit_note(&self, body: &PostSalesCreditNote) -> Result<SalesCreditNote> {
        self.create("/sales_credit_notes", body).await
    }

    pub async fn update_sales_credit_note(&self, id: &str, body: &PutSalesCreditNote) -> Result<SalesCreditNote> {
        self.update(&format!("/sales_credit_notes/{}", segment(id)?), body).await
    }

    pub async fn void_sales_credit_note(&self, id: &str, reason: &str) -> Result<SalesCreditNote> {
        self.delete_returning(&format!("/sales_credit_notes/{}", segment(id)?), &VoidReason { void_reason: reason })
            .await
    }

    // Contact payments (§5.4)

    pub async fn contact_payments(&self, query: &PaymentQuery) -> Result<Vec<ContactPayment>> {
        self.list_all("/contact_payments", query).await
    }

    pub async fn contact_payment(&self, id: &str) -> Result<ContactPayment> {
        self.get(&format!("/contact_payments/{}", segment(id)?)).await
    }

    pub async fn create_contact_payment(&self, body: &PostContactPayment) -> Result<ContactPayment> {
        self.create("/contact_payments", body).await
    }

    pub async fn update_contact_payment(&self, id: &str, body: &PutContactPayment) -> Result<ContactPayment> {
        self.update(&format!("/contact_payments/{}", segment(id)?), body).await
    }

    pub async fn delete_contact_payment(&self, id: &str) -> Result<()> {
        self.delete(&format!("/contact_payments/{}", segment(id)?)).await
    }

    // Contact allocations (§5.5)

    pub async fn contact_allocations(&self, query: &AllocationQuery) -> Result<Vec<ContactAllocation>> {
        self.list_all("/contact_allocations", query).await
    }

    pub async fn contact_allocation(&self, id: &str) -> Result<ContactAllocation> {
        self.get(&format!("/contact_allocations/{}", segment(id)?)).await
    }

    pub async fn create_contact_allocation(&self, body: &PostContactAllocation) -> Result<ContactAllocation> {
        self.create("/contact_allocations", body).await
    }

    pub async fn delete_contact_allocation(&self, id: &str) -> Result<()> {
        self.delete(&format!("/contact_allocations/{}", segment(id)?)).await
    }

    // Products, services, stock (§5.6)

    pub async fn products(&self, query: &CatalogQuery) -> Result<Vec<Product>> {
        self.list_all("/products", query).await
    }

    pub async fn product(&self, id: &str) -> Result<Product> {
        self.get(&format!("/products/{}", segment(id)?)).await
    }

    pub async fn create_product(&self, body: &PostProduct) -> Result<Product> {
        self.create("/products", body).await
    }

    pub async fn update_product(&self, id: &str, body: &PutProduct) -> Result<Product> {
        self.update(&format!("/products/{}", segment(id)?), body).await
    }

    pub async fn services(&self, query: &CatalogQuery) -> Result<Vec<Service>> {
        self.list_all("/services", query).await
    }

    pub async fn service(&self, id: &str) -> Result<Service> {
        self.get(&format!("/services/{}", segment(id)?)).await
    }

    pub async fn create_service(&self, body: &PostService) -> Result<Service> {
        self.create("/services", body).await
    }

    pub async fn update_service(&self, id: &str, body: &PutService) -> Result<Service> {
        self.update(&format!("/services/{}", segment(id)?), body).await
    }

    pub async fn stock_items(&self, query: &CatalogQuery) -> Result<Vec<StockItem>> {
        self.list_all("/stock_items", query).await
    }

    pub async fn stock_item(&self, id: &str) -> Result<StockItem> {
        self.get(&format!("/stock_items/{}", segment(id)?)).await
    }

    pub async fn create_stock_item(&self, body: &PostStockItem) -> Result<StockItem> {
        self.create("/stock_items", body).await
    }

    pub async fn update_stock_item(&self, id: &str, body: &PutStockItem) -> Result<StockItem> {
        self.update(&format!("/stock_items/{}", segment(id)?), body).await
    }

    pub async fn stock_movements(&self, query: &StockMovementQuery) -> Result<Vec<StockMovement>> {
        self.list_all("/stock_movements", query).await
    }

    pub async fn create_stock_movement(&self, body: &PostStockMovement) -> Result<StockMovement> {
        self.create("/stock_movements", body).await
    }

    // Reference data (§5.7–§5.12), cached per binding by the engine

    pub async fn tax_rates(&self, query: &TaxRateQuery) -> Result<Vec<TaxRate>> {
        self.list_all("/tax_rates", query).await
    }

    pub async fn ledger_accounts(&self, query: &LedgerAccountQuery) -> Result<Vec<LedgerAccount>> {
        self.list_all("/ledger_accounts", query).await
    }

    pub async fn bank_accounts(&self, query: &PageQuery) -> Result<Vec<BankAccount>> {
        self.list_all("/bank_accounts", query).await
    }

    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethod>> {
        self.list_all("/payment_methods", &PageQuery::default()).await
    }

    pub async fn currencies(&self) -> Result<Vec<Currency>> {
        self.list_all("/currencies", &PageQuery::default()).await
    }

    pub async fn financial_settings(&self) -> Result<FinancialSettings> {
        self.get("/financial_settings").await
    }

    pub async fn invoice_settings(&self) -> Result<InvoiceSettings> {
        self.get("/invoice_settings").await
    }

    pub async fn business_settings(&self) -> Result<BusinessSettings> {
        self.get("/business_settings").await
    }
}
