//! Product rows: `crm.item.productrow.*` for every owner type and the legacy
//! `crm.deal.productrows.get/set` (leads and quotes too), with the documented derived prices and the owner's
//! `OPPORTUNITY` recomputed from its rows unless it is manual.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

async fn start() -> Session {
    Session::start(Config::default().with_seed_portal()).await
}

async fn opportunity(s: &Session, deal: u64) -> Value {
    s.call("crm.deal.get", json!({"id": deal})).await.ok()["OPPORTUNITY"].clone()
}

#[tokio::test]
async fn item_product_rows_derive_prices_and_total_the_deal() {
    let s = start().await;
    let deal = s.add("crm.deal.add", json!({"TITLE": "Товары"})).await;

    // add: the documented example's row and answer.
    let added = s
        .call(
            "crm.item.productrow.add",
            json!({"fields": {"ownerId": deal, "ownerType": "D", "productId": 9621,
                "productName": "iphone 14", "price": 80000, "quantity": 2, "discountTypeId": 2,
                "discountRate": 20, "taxRate": 20, "taxIncluded": "Y", "measureCode": 796,
                "measureName": "pcs", "sort": 10}}),
        )
        .await;
    let row = added.ok()["productRow"].clone();
    let doc = json!({"id": 17647, "ownerId": 13142, "ownerType": "D", "productId": 9621,
        "productName": "iphone 14", "price": 80000, "priceAccount": 80000,
        "priceExclusive": 66666.67, "priceNetto": 83333.34, "priceBrutto": 100000.01,
        "quantity": 2, "discountTypeId": 2, "discountRate": 20, "discountSum": 16666.67,
        "taxRate": 20, "taxIncluded": "Y", "customized": "Y", "measureCode": 796,
        "measureName": "pcs", "sort": 10, "xmlId": "", "type": 4, "storeId": 0});
    assert_same_shape(&doc, &row, "crm.item.productrow.add", &[]);
    for k in [
        "price",
        "priceExclusive",
        "priceNetto",
        "priceBrutto",
        "discountSum",
    ] {
        assert_eq!(row[k], doc[k], "{k}");
    }
    assert_eq!(row["ownerId"], deal);
    assert_eq!(opportunity(&s, deal).await, "160000.00", "2 x 80000");

    // A second row; get, update and list.
    let second = s
        .call(
            "crm.item.productrow.add",
            json!({"fields": {"ownerId": deal, "ownerType": "d", "productName": "Доставка",
                "price": 500.5, "sort": 5}}),
        )
        .await;
    let second_id = second.ok()["productRow"]["id"].as_u64().unwrap();
    assert_eq!(
        second.ok()["productRow"]["quantity"],
        1,
        "the default quantity"
    );
    assert_eq!(second.ok()["productRow"]["taxRate"], Value::Null);
    assert_eq!(opportunity(&s, deal).await, "160500.50");
    let got = s
        .call("crm.item.productrow.get", json!({"id": row["id"]}))
        .await;
    assert_eq!(got.ok()["productRow"], row);
    let upd = s
        .call(
            "crm.item.productrow.update",
            json!({"id": second_id, "fields": {"quantity": 3, "discountTypeId": 1, "discountSum": 49.5}}),
        )
        .await;
    let updated = &upd.ok()["productRow"];
    assert_eq!(updated["price"], json!(500.5));
    assert_eq!(updated["priceNetto"], 550);
    assert_eq!(updated["discountRate"], 9);
    assert_eq!(opportunity(&s, deal).await, "161501.50");
    s.call(
        "crm.item.productrow.update",
        json!({"id": second_id, "fields": {"ownerId": 1}}),
    )
    .await
    .assert_error(
        400,
        "INVALID_ARG_VALUE",
        "The field ownerId is unknown or not available for update",
    );
    let list = s
        .call(
            "crm.item.productrow.list",
            json!({"filter": {"=ownerType": "D", "=ownerId": deal, ">price": 1000},
                "order": {"price": "desc"}}),
        )
        .await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.ok()["productRows"][0]["id"], row["id"]);
    let all = s
        .call(
            "crm.item.productrow.list",
            json!({"filter": {"=ownerType": "D", "=ownerId": deal}, "order": {"sort": "asc"}}),
        )
        .await;
    assert_eq!(all.ok()["productRows"][0]["id"], second_id);

    // delete: null, and the total follows.
    let del = s
        .call("crm.item.productrow.delete", json!({"id": second_id}))
        .await;
    assert_eq!(*del.ok(), Value::Null);
    assert_eq!(opportunity(&s, deal).await, "160000.00");
    s.call("crm.item.productrow.get", json!({"id": second_id}))
        .await
        .assert_error(400, "NOT_FOUND", "Item not found");

    // set replaces every row.
    let set = s
        .call(
            "crm.item.productrow.set",
            json!({"ownerType": "D", "ownerId": deal, "productRows": [
                {"productName": "A", "price": 100, "quantity": 2},
                {"productName": "B", "price": 50},
            ]}),
        )
        .await;
    let rows = set.ok()["productRows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["id"] != row["id"]));
    assert_eq!(opportunity(&s, deal).await, "250.00");
    s.call("crm.item.productrow.get", json!({"id": row["id"]}))
        .await
        .assert_error(400, "NOT_FOUND", "Item not found");

    // The documented errors.
    s.call(
        "crm.item.productrow.add",
        json!({"fields": {"ownerId": 999_999, "ownerType": "D", "price": 1}}),
    )
    .await
    .assert_error(400, "OWNER_NOT_FOUND", "Owner was not found");
    s.call(
        "crm.item.productrow.add",
        json!({"fields": {"ownerId": 1, "ownerType": "C", "price": 1}}),
    )
    .await
    .assert_error(
        400,
        "ENTITY_TYPE_NOT_SUPPORTED",
        "Working with this type of objects is not supported",
    );

    // fields, as documented.
    let fields = s.call("crm.item.productrow.fields", json!({})).await;
    let f = &fields.ok()["fields"];
    assert_eq!(f["priceExclusive"]["isReadOnly"], true);
    assert_eq!(f["ownerType"]["isRequired"], true);
    assert_eq!(f["taxIncluded"]["type"], "char");
}

#[tokio::test]
async fn legacy_deal_product_rows_replace_all_and_keep_a_manual_amount() {
    let s = start().await;
    let deal = s.add("crm.deal.add", json!({"TITLE": "Легаси"})).await;
    let set = s
        .call(
            "crm.deal.productrows.set",
            json!({"id": deal, "rows": [
                {"PRODUCT_ID": 450, "PRODUCT_NAME": "Product #2", "PRICE": 899.1,
                 "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10, "TAX_INCLUDED": "Y",
                 "MEASURE_CODE": 796, "MEASURE_NAME": "pcs", "SORT": 10},
                {"PRODUCT_NAME": "Product #1", "PRICE": 100, "QUANTITY": 2, "SORT": 20},
            ]}),
        )
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = s
        .call("crm.deal.productrows.get", json!({"id": deal}))
        .await;
    let rows = got.ok().as_array().unwrap().clone();
    let doc = json!({"ID": "5", "OWNER_ID": "5", "OWNER_TYPE": "D", "PRODUCT_ID": 450,
        "PRODUCT_NAME": "Product #2", "ORIGINAL_PRODUCT_NAME": "Product #2",
        "PRODUCT_DESCRIPTION": null, "PRICE": 899.1, "PRICE_EXCLUSIVE": 899.1,
        "PRICE_NETTO": 999, "PRICE_BRUTTO": 999, "PRICE_ACCOUNT": "899.10", "QUANTITY": 1,
        "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10, "DISCOUNT_SUM": 99.9, "TAX_RATE": null,
        "TAX_INCLUDED": "Y", "CUSTOMIZED": "Y", "MEASURE_CODE": 796, "MEASURE_NAME": "pcs",
        "SORT": 10, "XML_ID": "", "TYPE": 1, "STORE_ID": 0});
    assert_same_shape(&doc, &rows[0], "crm.deal.productrows.get", &[]);
    for k in [
        "PRICE",
        "PRICE_EXCLUSIVE",
        "PRICE_NETTO",
        "PRICE_BRUTTO",
        "PRICE_ACCOUNT",
        "DISCOUNT_SUM",
    ] {
        assert_eq!(rows[0][k], doc[k], "{k}");
    }
    assert_eq!(rows[1]["PRODUCT_NAME"], "Product #1");
    assert_eq!(opportunity(&s, deal).await, "1099.10");

    // The same rows through crm.item.productrow.list (one store).
    let list = s
        .call(
            "crm.item.productrow.list",
            json!({"filter": {"=ownerType": "D", "=ownerId": deal}}),
        )
        .await;
    assert_eq!(list.json["total"], 2);

    // set replaces all: one row left, updated in place when its ID is given.
    let set = s
        .call(
            "crm.deal.productrows.set",
            json!({"id": deal, "rows": [{"ID": rows[1]["ID"], "PRODUCT_NAME": "Only", "PRICE": 10}]}),
        )
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = s
        .call("crm.deal.productrows.get", json!({"id": deal}))
        .await;
    assert_eq!(got.ok().as_array().unwrap().len(), 1);
    assert_eq!(got.ok()[0]["ID"], rows[1]["ID"]);
    assert_eq!(got.ok()[0]["PRODUCT_NAME"], "Only");
    assert_eq!(opportunity(&s, deal).await, "10.00");

    // A manual amount stays.
    let upd = s
        .call(
            "crm.deal.update",
            json!({"id": deal, "fields": {"IS_MANUAL_OPPORTUNITY": "Y", "OPPORTUNITY": 777}}),
        )
        .await;
    assert_eq!(*upd.ok(), json!(true));
    s.call(
        "crm.deal.productrows.set",
        json!({"id": deal, "rows": [{"PRODUCT_NAME": "X", "PRICE": 5}]}),
    )
    .await
    .ok();
    assert_eq!(opportunity(&s, deal).await, "777.00");

    // An empty set clears the rows; errors as documented.
    let set = s
        .call("crm.deal.productrows.set", json!({"id": deal, "rows": []}))
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = s
        .call("crm.deal.productrows.get", json!({"id": deal}))
        .await;
    assert_eq!(*got.ok(), json!([]));
    s.call(
        "crm.deal.productrows.set",
        json!({"id": deal, "rows": [{"PRICE": 5, "DISCOUNT_TYPE_ID": 1}]}),
    )
    .await
    .assert_error(
        400,
        "ERROR_CORE",
        "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined<br>",
    );
    // Rows go with their deal.
    s.call(
        "crm.deal.productrows.set",
        json!({"id": deal, "rows": [{"PRODUCT_NAME": "Y", "PRICE": 1}]}),
    )
    .await
    .ok();
    let row = s
        .call(
            "crm.item.productrow.list",
            json!({"filter": {"=ownerType": "D", "=ownerId": deal}}),
        )
        .await;
    let row_id = row.ok()["productRows"][0]["id"].clone();
    s.call("crm.deal.delete", json!({"id": deal})).await.ok();
    s.call("crm.item.productrow.get", json!({"id": row_id}))
        .await
        .assert_error(400, "NOT_FOUND", "Item not found");
    s.call("crm.deal.productrows.get", json!({"id": 999_999}))
        .await
        .assert_error(400, "", "Not found");
    s.call("crm.deal.productrows.get", json!({}))
        .await
        .assert_error(400, "", "The parameter id is invalid or not defined.");
}

#[tokio::test]
async fn leads_quotes_invoices_and_smart_processes_have_rows_too() {
    let s = Session::start(Config::default()).await;
    let lead = s.add("crm.lead.add", json!({"TITLE": "Лид"})).await;
    let set = s
        .call(
            "crm.lead.productrows.set",
            json!({"id": lead, "rows": [{"PRODUCT_NAME": "A", "PRICE": 10, "QUANTITY": 3}]}),
        )
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = s.call("crm.lead.get", json!({"id": lead})).await;
    assert_eq!(got.ok()["OPPORTUNITY"], "30.00");
    let rows = s
        .call("crm.lead.productrows.get", json!({"id": lead}))
        .await;
    assert_eq!(rows.ok()[0]["OWNER_TYPE"], "L");

    let quote = s.add("crm.quote.add", json!({"TITLE": "КП"})).await;
    let project = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1220, "fields": {"title": "Проект"}}),
        )
        .await;
    let project = project.ok()["item"]["id"].as_u64().unwrap();
    let invoice = s
        .call("crm.item.add", json!({"entityTypeId": 31, "fields": {}}))
        .await;
    let invoice = invoice.ok()["item"]["id"].as_u64().unwrap();
    for (code, id, ety) in [
        ("Q", quote, 7),
        ("T4c4", project, 1220),
        ("SI", invoice, 31),
    ] {
        let added = s
            .call(
                "crm.item.productrow.add",
                json!({"fields": {"ownerType": code, "ownerId": id, "productName": "P", "price": 12.5, "quantity": 2}}),
            )
            .await;
        assert_eq!(added.ok()["productRow"]["ownerType"], code, "{code}");
        let item = s
            .call("crm.item.get", json!({"entityTypeId": ety, "id": id}))
            .await;
        assert_eq!(item.ok()["item"]["opportunity"], 25, "{code}");
    }
    // The quote's legacy methods see the same rows (crm-quote-product-rows-get/set.md).
    let rows = s
        .call("crm.quote.productrows.get", json!({"id": quote}))
        .await;
    assert_eq!(rows.ok()[0]["OWNER_TYPE"], "Q", "{}", rows.text);
    assert_eq!(rows.ok()[0]["PRODUCT_NAME"], "P");
    let set = s
        .call(
            "crm.quote.productrows.set",
            json!({"id": quote, "rows": [{"PRODUCT_NAME": "B", "PRICE": 100, "QUANTITY": 1}]}),
        )
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = s.call("crm.quote.get", json!({"id": quote})).await;
    assert_eq!(got.ok()["OPPORTUNITY"], "100.00", "{}", got.text);
}
