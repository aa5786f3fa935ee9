//! Payments' handler of `return.received`: requests the refund of the return's amount
//! from the order's payment (`payment.refund_requested`, made through the provider by
//! `payments-on-payment-refund-requested`); see `payments_domain::refund_returned_items`.

kit::event_handler!(
    "payments-on-return-received",
    payments_domain,
    contracts::ReturnReceived,
    payments_domain::refund_returned_items
);
