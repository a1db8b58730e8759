//! The portal's language: the texts a portal writes itself (default titles, error messages, the
//! titles of the standard fields in `crm.deal.fields`). Data that users entered (user-field
//! labels, deal titles, pipeline names of a snapshot) stays as it is.

use std::fmt;

use serde_json::Value;

use crate::schema::Layout;

/// The language a portal answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Russian (the seed documentation's portal; the default).
    #[default]
    Ru,
    /// English, with the texts of the English REST documentation.
    En,
}

impl Lang {
    /// Parses the CLI form: `ru` or `en`.
    pub fn parse(text: &str) -> Result<Lang, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language `{other}`: use `ru` or `en`")),
        }
    }

    /// The title a deal gets when it is added without one.
    pub(crate) fn default_deal_title(self, id: u32) -> String {
        match self {
            Lang::Ru => format!("Сделка #{id}"),
            Lang::En => format!("Deal #{id}"),
        }
    }

    /// The legacy error for a required field left empty.
    pub(crate) fn required_field(self, label: &str) -> String {
        match self {
            Lang::Ru => format!("Поле \"{label}\" обязательно для заполнения."),
            Lang::En => format!("Field \"{label}\" is required."),
        }
    }

    /// The legacy error for a currency the portal does not have.
    pub(crate) fn invalid_currency(self) -> &'static str {
        match self {
            Lang::Ru => "Неверное значение поля «Валюта»",
            Lang::En => "Invalid value of the field \"Currency\"",
        }
    }

    /// Gives the standard fields of `layout` the titles of this language (English: the titles
    /// of the `crm.deal.fields` example in the English documentation). Russian keeps the
    /// snapshot's titles, which come from a Russian portal.
    pub(crate) fn localize(self, layout: &mut Layout) {
        if self == Lang::Ru {
            return;
        }
        for f in layout.fields.iter_mut().filter(|f| !f.uf) {
            if let Some((_, title)) = EN_DEAL_TITLES.iter().find(|(code, _)| *code == f.code) {
                f.descriptor
                    .insert("title".into(), Value::String((*title).to_owned()));
            }
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        })
    }
}

/// Standard deal field titles of an English portal, from the `crm.deal.fields` example response
/// of the English REST documentation (b24restdocs, MIT).
const EN_DEAL_TITLES: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("TITLE", "Title"),
    ("TYPE_ID", "Type"),
    ("CATEGORY_ID", "Sales Funnel"),
    ("STAGE_ID", "Deal Stage"),
    ("STAGE_SEMANTIC_ID", "Stage Group"),
    ("IS_NEW", "New Deal"),
    ("IS_RECURRING", "Recurring Deal"),
    ("IS_RETURN_CUSTOMER", "Repeat Deal"),
    ("IS_REPEATED_APPROACH", "Repeated Approach"),
    ("PROBABILITY", "Probability"),
    ("CURRENCY_ID", "Currency"),
    ("OPPORTUNITY", "Amount"),
    ("IS_MANUAL_OPPORTUNITY", "IS_MANUAL_OPPORTUNITY"),
    ("TAX_VALUE", "Tax Rate"),
    ("COMPANY_ID", "Company"),
    ("CONTACT_ID", "Contact"),
    ("CONTACT_IDS", "Contacts"),
    ("QUOTE_ID", "Estimate"),
    ("BEGINDATE", "Start Date"),
    ("CLOSEDATE", "Close Date"),
    ("OPENED", "Available to All"),
    ("CLOSED", "Closed"),
    ("COMMENTS", "Comment"),
    ("ASSIGNED_BY_ID", "Responsible"),
    ("CREATED_BY_ID", "Created By"),
    ("MODIFY_BY_ID", "Modified By"),
    ("MOVED_BY_ID", "MOVED_BY_ID"),
    ("DATE_CREATE", "Creation Date"),
    ("DATE_MODIFY", "Modification Date"),
    ("MOVED_TIME", "MOVED_TIME"),
    ("SOURCE_ID", "Source"),
    ("SOURCE_DESCRIPTION", "Additional Info about Source"),
    ("LEAD_ID", "Lead"),
    ("ADDITIONAL_INFO", "Additional Information"),
    ("LOCATION_ID", "Location"),
    ("ORIGINATOR_ID", "External Source"),
    ("ORIGIN_ID", "Identifier in External Source"),
    ("UTM_SOURCE", "Advertising System"),
    ("UTM_MEDIUM", "Traffic Type"),
    ("UTM_CAMPAIGN", "Campaign Identifier"),
    ("UTM_CONTENT", "Campaign Content"),
    ("UTM_TERM", "Campaign Search Condition"),
    ("LAST_ACTIVITY_TIME", "LAST_ACTIVITY_TIME"),
    ("LAST_ACTIVITY_BY", "LAST_ACTIVITY_BY"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_texts() {
        assert_eq!(Lang::parse("EN"), Ok(Lang::En));
        assert_eq!(Lang::parse("ru"), Ok(Lang::Ru));
        assert!(Lang::parse("de").unwrap_err().contains("`ru` or `en`"));
        assert_eq!(Lang::En.default_deal_title(7), "Deal #7");
        assert_eq!(Lang::Ru.default_deal_title(7), "Сделка #7");
        assert_eq!(
            Lang::En.required_field("Sales channel"),
            "Field \"Sales channel\" is required."
        );
    }
}
