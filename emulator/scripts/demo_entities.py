#!/usr/bin/env python3
"""Writes the demo portal's entity definitions (emulator/portals/demo-*.json) from the field
lists of the official REST documentation (the `crm.<entity>.fields` / `crm.item.fields` example
answers), plus the demo portal's own user fields and smart processes.

Usage: demo_entities.py <b24restdocs/api-reference/crm> <emulator/portals>
"""
import copy
import json
import re
import sys

DOCS, OUT = sys.argv[1], sys.argv[2]


def example(path):
    text = open(f"{DOCS}/{path}", encoding="utf-8").read()
    block = re.search(r"```json\n(\{.*?\n\})\n```", text, re.S).group(1)
    return json.loads(block)["result"]


def uf(ty, label, settings=None, multiple=False, mandatory=False, items=None):
    d = {
        "type": ty,
        "isRequired": mandatory,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": multiple,
        "isDynamic": True,
        "title": label,
        "listLabel": label,
        "formLabel": label,
        "filterLabel": label,
        "settings": settings or {},
    }
    if items is not None:
        d["items"] = items
    return d


def write(name, entity_type_id, prefix, fields, extra=None):
    entity = {"name": name, "method_prefix": prefix, "entity_type_id": entity_type_id}
    entity.update(extra or {})
    doc = {"format_version": 1, "entity": entity, "fields": fields}
    with open(f"{OUT}/demo-{name}.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")


STRING = {"SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""}

lead = example("leads/crm-lead-fields.md")
lead["UF_CRM_1720019876534"] = uf("string", "Код партнёра", STRING)
lead["UF_CRM_1720019880111"] = uf(
    "enumeration",
    "Интерес",
    {"DISPLAY": "LIST", "LIST_HEIGHT": 1},
    items=[{"ID": "61", "VALUE": "Покупка"}, {"ID": "63", "VALUE": "Аренда"}],
)
write("lead", 1, "crm.lead", lead)

contact = example("contacts/crm-contact-fields.md")
contact["UF_CRM_1720697698689"] = uf("string", "Должность у клиента", STRING)
contact["UF_CRM_1720697701222"] = uf("date", "День рождения компании", {"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}})
contact["PARENT_ID_1220"] = {
    "type": "crm_entity", "isRequired": False, "isReadOnly": False, "isImmutable": False,
    "isMultiple": False, "isDynamic": False, "title": "Проекты",
    "settings": {"parentEntityTypeId": 1220},
}
write("contact", 3, "crm.contact", contact)

company = example("companies/crm-company-fields.md")
company.pop("PARENT_ID_156", None)
company["UF_CRM_1720697705333"] = uf("integer", "Число филиалов", {"MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None})
write("company", 4, "crm.company", company)

quote = example("quote/crm-quote-fields.md")
write("quote", 7, "crm.quote", quote)

item = example("universal/crm-item-fields.md")["fields"]
for k in [k for k in item if k.startswith("parentId")]:
    del item[k]


def parent(entity_type_id, title):
    return {
        "type": "crm_entity", "isRequired": False, "isReadOnly": False, "isImmutable": False,
        "isMultiple": False, "isDynamic": False, "title": title,
        "upperName": f"PARENT_ID_{entity_type_id}",
        "settings": {"parentEntityTypeId": entity_type_id},
    }


def smart(entity_type_id, stage_entity, categories, parents, user_fields):
    f = copy.deepcopy(item)
    if categories:
        for k in ("stageId", "previousStageId"):
            f[k]["statusType"] = stage_entity
    else:
        for k in ("categoryId", "stageId", "previousStageId", "movedTime", "movedBy"):
            del f[k]
    for pid, title in parents:
        f[f"parentId{pid}"] = parent(pid, title)
    for name, d in user_fields:
        d = dict(d)
        d["upperName"] = name
        f[camel_uf(name)] = d
    return f


def camel_uf(name):
    rest = name[len("UF_CRM_"):]
    m = re.match(r"(\d+)_(.*)", rest)
    return f"ufCrm{m.group(1)}_{m.group(2)}" if m else f"ufCrm_{rest}"


invoice = smart(31, "SMART_INVOICE_STAGE_3", True, [(2, "Сделка")], [])
write("smart-invoice", 31, "crm.item", invoice, {"title": "Счета"})

projects = smart(
    1220, "DYNAMIC_1220_STAGE_5", True, [(2, "Сделка"), (4, "Компания")],
    [
        ("UF_CRM_6_1721245000111", uf("string", "Код проекта", STRING)),
        ("UF_CRM_6_1721245000222", uf("double", "Бюджет проекта", {"PRECISION": 2, "DEFAULT_VALUE": None})),
    ],
)
write("projects", 1220, "crm.item", projects, {"title": "Проекты", "id": 6})

contracts = smart(
    153, "", False, [(2, "Сделка")],
    [("UF_CRM_1_1721245100333", uf("date", "Дата подписания", {"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}}))],
)
write("contracts", 153, "crm.item", contracts, {"title": "Договоры", "id": 1})

# The field set of a new smart process (crm.type.add): no user fields, no links.
write("smart-process", 0, "crm.item", smart(0, "DYNAMIC_0_STAGE_0", True, [], []))
