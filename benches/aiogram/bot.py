"""The helpdesk bot's registration, FAQ and /status dialogue as a minimal aiogram 3 bot over
SQLite, for a side-by-side benchmark (benches/bot_updates.rs with BOT_BENCH_TARGET=aiogram).

Same observable dialogue as helpdesk for the benchmarked paths: /start -> name -> phone
(contact) -> registered; free text -> FAQ answer with "did it help?" buttons (SQLite FTS5,
bm25) or a hand-over ticket; /status N -> the ticket's status or "not found". Every incoming
message is logged and every state change committed (WAL, synchronous=FULL: durable like redb's
default). Unlike helpdesk, replies are sent directly: no outbox, no Telegram rate limiting.

Environment: API_URL (Bot API base, e.g. http://127.0.0.1:PORT), BOT_TOKEN, DB (SQLite file),
FAQ (CSV: question,answer,alternatives with a header row).
"""

import asyncio
import csv
import os
import re
import sqlite3
import time

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

db = sqlite3.connect(os.environ.get("DB", "aiogram-bench.sqlite"))
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.executescript(
    """
    CREATE TABLE IF NOT EXISTS users (tg_id INTEGER PRIMARY KEY, name TEXT, phone TEXT,
        state TEXT NOT NULL, question TEXT);
    CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY AUTOINCREMENT,
        requester INTEGER NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, chat INTEGER,
        user INTEGER, text TEXT, at REAL);
    CREATE VIRTUAL TABLE IF NOT EXISTS faq USING fts5(question, answer, alternatives);
    """
)
if os.environ.get("FAQ") and not db.execute("SELECT 1 FROM faq LIMIT 1").fetchone():
    with open(os.environ["FAQ"], newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            db.execute(
                "INSERT INTO faq VALUES (?, ?, ?)",
                (row["question"], row["answer"], row.get("alternatives", "")),
            )
    db.commit()

MENU = ReplyKeyboardMarkup(
    keyboard=[
        [KeyboardButton(text="📝 Новая заявка"), KeyboardButton(text="📋 Мои заявки")],
        [KeyboardButton(text="❓ Задать вопрос"), KeyboardButton(text="🚨 Срочный вызов")],
    ],
    resize_keyboard=True,
)
dp = Dispatcher()


def log_in(m: Message) -> None:
    db.execute(
        "INSERT INTO log (chat, user, text, at) VALUES (?, ?, ?, ?)",
        (m.chat.id, m.from_user.id if m.from_user else None, m.text or "[media]", time.time()),
    )
    db.commit()


def user(tg_id: int):
    return db.execute(
        "SELECT name, phone, state FROM users WHERE tg_id = ?", (tg_id,)
    ).fetchone()


@dp.message(CommandStart())
async def start(m: Message) -> None:
    log_in(m)
    if user(m.from_user.id) is None:
        db.execute("INSERT INTO users (tg_id, state) VALUES (?, 'reg_name')", (m.from_user.id,))
        db.commit()
        await m.answer("Здравствуйте! Как вас зовут?")
    else:
        await m.answer("Главное меню", reply_markup=MENU)


@dp.message(Command("status"))
async def status(m: Message) -> None:
    log_in(m)
    arg = (m.text or "").split(maxsplit=1)[1:] or [""]
    n = int(arg[0]) if arg[0].isdigit() else 0
    row = db.execute(
        "SELECT status FROM tickets WHERE id = ? AND requester = ?", (n, m.from_user.id)
    ).fetchone()
    await m.answer(f"Заявка #{n}: статус — {row[0]}." if row else f"Заявка #{n} не найдена.")


@dp.message(F.contact)
async def contact(m: Message) -> None:
    log_in(m)
    u = user(m.from_user.id)
    if u is None or u[2] != "reg_phone":
        await m.answer("Главное меню", reply_markup=MENU)
        return
    db.execute(
        "UPDATE users SET phone = ?, state = 'idle' WHERE tg_id = ?",
        (m.contact.phone_number, m.from_user.id),
    )
    db.commit()
    await m.answer(f"Готово, {u[0]}! Чем можем помочь?", reply_markup=MENU)


def faq_search(text: str):
    words = re.findall(r"\w+", text.lower())
    if not words:
        return None
    query = " OR ".join(f'"{w}"*' for w in words)
    return db.execute(
        "SELECT question, answer FROM faq WHERE faq MATCH ? ORDER BY bm25(faq) LIMIT 3",
        (query,),
    ).fetchone()


@dp.message(F.text)
async def text(m: Message) -> None:
    log_in(m)
    u = user(m.from_user.id)
    if u is None:
        await m.answer("Нажмите /start, чтобы зарегистрироваться.")
        return
    if u[2] == "reg_name":
        db.execute(
            "UPDATE users SET name = ?, state = 'reg_phone' WHERE tg_id = ?",
            (m.text.strip(), m.from_user.id),
        )
        db.commit()
        kb = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📱 Поделиться номером", request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await m.answer("Ваш номер телефона?", reply_markup=kb)
        return
    hit = faq_search(m.text)
    if hit:
        db.execute(
            "UPDATE users SET state = 'faq_answered', question = ? WHERE tg_id = ?",
            (m.text, m.from_user.id),
        )
        db.commit()
        kb = InlineKeyboardMarkup(
            inline_keyboard=[[
                InlineKeyboardButton(text="👍 Да, помогло", callback_data="fy:1"),
                InlineKeyboardButton(text="👎 Нет, нужен специалист", callback_data="fn:1"),
            ]]
        )
        await m.answer(f"{hit[1]}\n\nПомог ли этот ответ?", reply_markup=kb)
    else:
        cur = db.execute(
            "INSERT INTO tickets (requester, subject, status) VALUES (?, ?, 'new')",
            (m.from_user.id, m.text[:80]),
        )
        db.commit()
        await m.answer(f"Вопрос передан специалисту (заявка #{cur.lastrowid}).")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    await dp.start_polling(bot, polling_timeout=10, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
