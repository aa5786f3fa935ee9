-- Product variants, both dialects.
--
-- products.options: the product's options as JSON ([{"name", "values"}], '[]' for none);
-- products.variants: with options, its variants as JSON ([{"sku", "name", "price",
-- "options"}]); without, '[]': the product is its own single variant (its sku and
-- price). variants: every SKU a customer can buy, and its product, so a SKU names one
-- variant of one product in a tenant; products of the old shape become their own
-- single variant here.
ALTER TABLE products ADD COLUMN options TEXT NOT NULL DEFAULT '[]';
ALTER TABLE products ADD COLUMN variants TEXT NOT NULL DEFAULT '[]';
CREATE TABLE variants (
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (tenant, sku)
);
CREATE INDEX variants_product ON variants (tenant, product_id);
INSERT INTO variants (tenant, sku, product_id) SELECT tenant, sku, id FROM products;
