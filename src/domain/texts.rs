//! Default texts helpdesk sends people, in Russian, Ukrainian and English, in one place.
//!
//! A text may hold `{name}` placeholders filled by [`render`]. The panel can override any key
//! (stored as a setting `text.<key>.<lang>`); these are the defaults.

use super::people::Language;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "ticket_created",
        "Заявка {n} создана: {subject}. Мы сообщим, когда её возьмут в работу.",
        "Заявку {n} створено: {subject}. Ми повідомимо, коли її візьмуть у роботу.",
        "Ticket {n} created: {subject}. We will tell you when someone takes it.",
    ),
    (
        "status_changed",
        "Заявка {n}: статус — {status}.",
        "Заявка {n}: статус — {status}.",
        "Ticket {n}: status is now {status}.",
    ),
    (
        "rejected",
        "Заявка {n} отклонена. Причина: {reason}",
        "Заявку {n} відхилено. Причина: {reason}",
        "Ticket {n} was rejected. Reason: {reason}",
    ),
    (
        "public_reply",
        "Ответ по заявке {n}:\n{text}",
        "Відповідь щодо заявки {n}:\n{text}",
        "Reply on ticket {n}:\n{text}",
    ),
    (
        "resolved",
        "Заявка {n} решена. Подтвердите или откройте заново, и оцените работу.",
        "Заявку {n} вирішено. Підтвердьте або відкрийте знову, і оцініть роботу.",
        "Ticket {n} is resolved. Please confirm or reopen it, and rate the work.",
    ),
    (
        "email_subject",
        "Заявка {n}: {subject}",
        "Заявка {n}: {subject}",
        "Ticket {n}: {subject}",
    ),
    ("status.new", "новая", "нова", "new"),
    ("status.in_progress", "в работе", "в роботі", "in progress"),
    (
        "status.waiting_requester",
        "ждёт вашего ответа",
        "чекає на вашу відповідь",
        "waiting for your reply",
    ),
    ("status.resolved", "решена", "вирішена", "resolved"),
    ("status.closed", "закрыта", "закрита", "closed"),
    ("status.rejected", "отклонена", "відхилена", "rejected"),
    (
        "status.reopened",
        "открыта заново",
        "відкрита знову",
        "reopened",
    ),
    (
        "bot.welcome",
        "Здравствуйте! Я бот службы поддержки. Как вас зовут? Напишите имя и фамилию.",
        "Вітаю! Я бот служби підтримки. Як вас звати? Напишіть ім'я та прізвище.",
        "Hello! I am the helpdesk bot. What is your name? Please type your first and last name.",
    ),
    (
        "bot.ask_phone",
        "Отправьте номер телефона кнопкой ниже или введите его (например, +7 912 345-67-89).",
        "Надішліть номер телефону кнопкою нижче або введіть його (наприклад, +380 44 123 4567).",
        "Share your phone number with the button below or type it (e.g. +44 20 7946 0958).",
    ),
    (
        "bot.share_phone",
        "📱 Отправить номер",
        "📱 Надіслати номер",
        "📱 Share my number",
    ),
    (
        "bot.ask_department",
        "Выберите ваш отдел:",
        "Оберіть ваш відділ:",
        "Choose your department:",
    ),
    (
        "bot.registered",
        "Готово, {name}! Чем можем помочь?",
        "Готово, {name}! Чим можемо допомогти?",
        "Done, {name}! How can we help?",
    ),
    (
        "bot.menu",
        "Выберите действие или просто напишите вопрос.",
        "Оберіть дію або просто напишіть питання.",
        "Choose an action or just type your question.",
    ),
    (
        "menu.new",
        "📝 Новая заявка",
        "📝 Нова заявка",
        "📝 New ticket",
    ),
    ("menu.my", "📋 Мои заявки", "📋 Мої заявки", "📋 My tickets"),
    (
        "menu.ask",
        "❓ Задать вопрос",
        "❓ Поставити питання",
        "❓ Ask a question",
    ),
    (
        "menu.urgent",
        "🚨 Срочный вызов",
        "🚨 Терміновий виклик",
        "🚨 Urgent call",
    ),
    ("menu.about", "ℹ️ О нас", "ℹ️ Про нас", "ℹ️ About us"),
    (
        "bot.about",
        "Служба ИТ-поддержки офиса. Пишите сюда в любое время — заявки обрабатываются в рабочие часы.",
        "Служба ІТ-підтримки офісу. Пишіть сюди будь-коли — заявки обробляються в робочий час.",
        "The office IT helpdesk. Write here any time; tickets are handled during working hours.",
    ),
    (
        "bot.ask_question",
        "Напишите ваш вопрос одним сообщением.",
        "Напишіть ваше питання одним повідомленням.",
        "Type your question in one message.",
    ),
    (
        "bot.choose_category",
        "Шаг 1. Выберите категорию:",
        "Крок 1. Оберіть категорію:",
        "Step 1. Choose a category:",
    ),
    (
        "cat.hardware",
        "🖥 Компьютер, оборудование",
        "🖥 Комп'ютер, обладнання",
        "🖥 Computer, hardware",
    ),
    ("cat.software", "💿 Программы", "💿 Програми", "💿 Software"),
    (
        "cat.network",
        "🌐 Сеть, интернет",
        "🌐 Мережа, інтернет",
        "🌐 Network, internet",
    ),
    ("cat.printer", "🖨 Принтер", "🖨 Принтер", "🖨 Printer"),
    (
        "cat.cartridge_order",
        "🧴 Заказ картриджей",
        "🧴 Замовлення картриджів",
        "🧴 Cartridge order",
    ),
    (
        "cat.access",
        "🔑 Доступы, пароли",
        "🔑 Доступи, паролі",
        "🔑 Access, passwords",
    ),
    ("cat.conversation", "💬 Вопрос", "💬 Питання", "💬 Question"),
    ("cat.other", "📦 Другое", "📦 Інше", "📦 Other"),
    (
        "bot.ask_printer",
        "Напишите модель принтера или выберите из списка:",
        "Напишіть модель принтера або оберіть зі списку:",
        "Type the printer model or pick one:",
    ),
    (
        "bot.unknown_printer",
        "Такой модели нет в списке. Выберите из списка или напишите модель точно как на принтере.",
        "Такої моделі немає у списку. Оберіть зі списку або напишіть модель точно як на принтері.",
        "That model is not on the list. Pick one or type it exactly as written on the printer.",
    ),
    (
        "bot.ask_item",
        "Выберите картридж (в скобках — остаток на складе):",
        "Оберіть картридж (у дужках — залишок на складі):",
        "Choose a cartridge (stock in brackets):",
    ),
    (
        "bot.ask_qty",
        "Сколько штук нужно? Введите число от 1 до {max}.",
        "Скільки штук потрібно? Введіть число від 1 до {max}.",
        "How many? Type a number from 1 to {max}.",
    ),
    (
        "bot.bad_qty",
        "Нужно число от 1 до {max}. Попробуйте ещё раз.",
        "Потрібне число від 1 до {max}. Спробуйте ще раз.",
        "Please type a number from 1 to {max}.",
    ),
    (
        "bot.qty_over_stock",
        "На складе сейчас только {stock} шт. Введите число от 1 до {max}.",
        "На складі зараз лише {stock} шт. Введіть число від 1 до {max}.",
        "Only {stock} in stock right now. Please type a number from 1 to {max}.",
    ),
    (
        "bot.no_stock_for_printer",
        "Для этой модели сейчас нет картриджей на складе.",
        "Для цієї моделі зараз немає картриджів на складі.",
        "Nothing for this printer is in stock right now.",
    ),
    (
        "bot.no_stock_at_all",
        "Сейчас на складе нет картриджей. Оформите обычную заявку или попробуйте позже.",
        "Зараз на складі немає картриджів. Створіть звичайну заявку або спробуйте пізніше.",
        "No cartridges are in stock right now. File an ordinary ticket or try later.",
    ),
    (
        "bot.item_gone",
        "Этот картридж закончился, пока вы выбирали.",
        "Цей картридж закінчився, поки ви обирали.",
        "That item ran out while you were choosing.",
    ),
    (
        "staff.requester_wrote",
        "✉️ {name} по заявке {n}:\n{text}",
        "✉️ {name} щодо заявки {n}:\n{text}",
        "✉️ {name} on ticket {n}:\n{text}",
    ),
    (
        "bot.ask_description",
        "Опишите проблему одним сообщением:",
        "Опишіть проблему одним повідомленням:",
        "Describe the problem in one message:",
    ),
    (
        "bot.ask_priority",
        "Насколько срочно?",
        "Наскільки терміново?",
        "How urgent is it?",
    ),
    ("prio.low", "Не срочно", "Не терміново", "Not urgent"),
    ("prio.normal", "Обычно", "Звичайно", "Normal"),
    ("prio.high", "Срочно", "Терміново", "Urgent"),
    (
        "prio.critical",
        "Критично — работа стоит",
        "Критично — робота стоїть",
        "Critical — work has stopped",
    ),
    (
        "bot.ask_attachments",
        "Прикрепите фото, документы или голосовое (по желанию) и нажмите «Готово».",
        "Прикріпіть фото, документи або голосове (за бажанням) і натисніть «Готово».",
        "Attach photos, documents or a voice message (optional), then press Done.",
    ),
    (
        "bot.attached",
        "Прикреплено: {n}. Ещё или «Готово».",
        "Прикріплено: {n}. Ще або «Готово».",
        "Attached: {n}. More, or Done.",
    ),
    (
        "bot.confirm",
        "Проверьте заявку:\n{summary}\n\nОтправить?",
        "Перевірте заявку:\n{summary}\n\nНадіслати?",
        "Please check the ticket:\n{summary}\n\nSend it?",
    ),
    ("btn.back", "⬅️ Назад", "⬅️ Назад", "⬅️ Back"),
    ("btn.cancel", "✖️ Отмена", "✖️ Скасувати", "✖️ Cancel"),
    ("btn.done", "✅ Готово", "✅ Готово", "✅ Done"),
    ("btn.send", "📨 Отправить", "📨 Надіслати", "📨 Send"),
    (
        "btn.yes",
        "👍 Да, помогло",
        "👍 Так, допомогло",
        "👍 Yes, it helped",
    ),
    (
        "btn.no",
        "👎 Нет, нужен специалист",
        "👎 Ні, потрібен фахівець",
        "👎 No, I need a person",
    ),
    (
        "btn.confirm",
        "✅ Подтверждаю",
        "✅ Підтверджую",
        "✅ Confirm",
    ),
    (
        "btn.reopen",
        "🔁 Не решено",
        "🔁 Не вирішено",
        "🔁 Not solved",
    ),
    ("btn.take", "🙋 Взять", "🙋 Взяти", "🙋 Take"),
    ("btn.assign", "👤 Назначить", "👤 Призначити", "👤 Assign"),
    ("btn.resolve", "✅ Решено", "✅ Вирішено", "✅ Resolve"),
    ("btn.reject", "⛔ Отклонить", "⛔ Відхилити", "⛔ Reject"),
    (
        "btn.reopen_staff",
        "🔁 Открыть заново",
        "🔁 Відкрити знову",
        "🔁 Reopen",
    ),
    ("bot.cancelled", "Отменено.", "Скасовано.", "Cancelled."),
    (
        "bot.my_none",
        "У вас пока нет заявок.",
        "У вас поки немає заявок.",
        "You have no tickets yet.",
    ),
    (
        "bot.my_title",
        "Ваши заявки:",
        "Ваші заявки:",
        "Your tickets:",
    ),
    (
        "bot.not_found",
        "Заявка {n} не найдена.",
        "Заявку {n} не знайдено.",
        "Ticket {n} was not found.",
    ),
    (
        "bot.status_usage",
        "Напишите номер заявки: /status 12",
        "Напишіть номер заявки: /status 12",
        "Give the ticket number: /status 12",
    ),
    (
        "bot.detail",
        "Заявка {n}: {subject}\nСтатус: {status}\nИсполнитель: {assignee}\nСоздана: {created}\n{last}",
        "Заявка {n}: {subject}\nСтатус: {status}\nВиконавець: {assignee}\nСтворено: {created}\n{last}",
        "Ticket {n}: {subject}\nStatus: {status}\nAssignee: {assignee}\nCreated: {created}\n{last}",
    ),
    (
        "bot.last_reply",
        "Последний ответ: {text}",
        "Остання відповідь: {text}",
        "Last reply: {text}",
    ),
    ("bot.nobody", "пока никто", "поки ніхто", "nobody yet"),
    (
        "bot.faq_helped",
        "Помог ли этот ответ?",
        "Чи допомогла ця відповідь?",
        "Did this help?",
    ),
    (
        "bot.faq_suggest",
        "Возможно, вы имели в виду:",
        "Можливо, ви мали на увазі:",
        "Perhaps you meant:",
    ),
    (
        "bot.faq_none_fit",
        "Ничего не подходит — к специалисту",
        "Нічого не підходить — до фахівця",
        "None of these — ask a person",
    ),
    (
        "bot.faq_thanks",
        "Рады помочь!",
        "Раді допомогти!",
        "Glad to help!",
    ),
    (
        "bot.handover",
        "Вопрос передан специалисту (заявка {n}). Ответ придёт сюда; можно дописать подробности.",
        "Питання передано фахівцю (заявка {n}). Відповідь прийде сюди; можна дописати подробиці.",
        "Your question went to a person (ticket {n}). The answer will come here; you can add details.",
    ),
    (
        "bot.added_to",
        "Добавлено к заявке {n}.",
        "Додано до заявки {n}.",
        "Added to ticket {n}.",
    ),
    (
        "bot.urgent_sent",
        "🚨 Дежурные специалисты оповещены. С вами свяжутся.",
        "🚨 Чергових фахівців сповіщено. З вами зв'яжуться.",
        "🚨 The on-duty staff have been alerted. They will contact you.",
    ),
    (
        "bot.urgent_cooldown",
        "Срочный вызов уже отправлен. Повторить можно через {m} мин.",
        "Терміновий виклик уже надіслано. Повторити можна через {m} хв.",
        "An urgent call was already sent. You can repeat it in {m} min.",
    ),
    (
        "bot.urgent_alert",
        "🚨 СРОЧНЫЙ ВЫЗОВ от {name} ({phone}, {department})",
        "🚨 ТЕРМІНОВИЙ ВИКЛИК від {name} ({phone}, {department})",
        "🚨 URGENT CALL from {name} ({phone}, {department})",
    ),
    (
        "bot.too_long",
        "Сообщение слишком длинное: не больше {max} символов.",
        "Повідомлення задовге: не більше {max} символів.",
        "The message is too long: at most {max} characters.",
    ),
    (
        "bot.unknown_command",
        "Не знаю такой команды. /help — список команд.",
        "Не знаю такої команди. /help — список команд.",
        "Unknown command. /help lists the commands.",
    ),
    (
        "bot.unsupported_media",
        "Этот тип файла не поддерживается. Пришлите фото, документ или голосовое.",
        "Цей тип файлу не підтримується. Надішліть фото, документ або голосове.",
        "This kind of file is not supported. Send a photo, a document or a voice message.",
    ),
    (
        "bot.need_start",
        "Сначала зарегистрируйтесь: /start",
        "Спочатку зареєструйтеся: /start",
        "Please register first: /start",
    ),
    (
        "bot.blocked",
        "Доступ к боту ограничен. Обратитесь в ИТ-отдел.",
        "Доступ до бота обмежено. Зверніться до ІТ-відділу.",
        "Your access to the bot is restricted. Please contact IT.",
    ),
    (
        "bot.help",
        "/new — новая заявка\n/my — мои заявки\n/status N — статус заявки\n/email адрес — получать уведомления и на почту\n/cancel — отменить текущее действие\nИли просто напишите вопрос.",
        "/new — нова заявка\n/my — мої заявки\n/status N — статус заявки\n/email адреса — отримувати сповіщення й на пошту\n/cancel — скасувати поточну дію\nАбо просто напишіть питання.",
        "/new — new ticket\n/my — my tickets\n/status N — ticket status\n/email address — also get notifications by e-mail\n/cancel — cancel the current step\nOr just type your question.",
    ),
    (
        "bot.help_staff",
        "Для сотрудников: /queue — очередь заявок; /digest on|off — ежедневная сводка; /broadcast — рассылка; /staff — сотрудники. Ответ на карточку заявки уходит заявителю.",
        "Для співробітників: /queue — черга заявок; /digest on|off — щоденне зведення; /broadcast — розсилка; /staff — співробітники. Відповідь на картку заявки йде заявнику.",
        "Staff: /queue — the ticket queue; /digest on|off — the daily digest; /broadcast; /staff. A reply to a ticket card goes to the requester.",
    ),
    (
        "bot.forbidden",
        "Недостаточно прав для этого действия.",
        "Недостатньо прав для цієї дії.",
        "You are not allowed to do that.",
    ),
    (
        "bot.stale",
        "Эта кнопка устарела.",
        "Ця кнопка застаріла.",
        "This button is out of date.",
    ),
    (
        "bot.reject_prompt",
        "Причина отклонения заявки {n}? Ответьте на это сообщение.",
        "Причина відхилення заявки {n}? Дайте відповідь на це повідомлення.",
        "Reason for rejecting ticket {n}? Reply to this message.",
    ),
    (
        "bot.assign_prompt",
        "Кому назначить заявку {n}?",
        "Кому призначити заявку {n}?",
        "Assign ticket {n} to whom?",
    ),
    ("bot.done_ok", "Готово.", "Готово.", "Done."),
    (
        "bot.rate_prompt",
        "Оцените работу по заявке {n}:",
        "Оцініть роботу за заявкою {n}:",
        "Rate the work on ticket {n}:",
    ),
    (
        "bot.rated",
        "Спасибо за оценку!",
        "Дякуємо за оцінку!",
        "Thank you for the rating!",
    ),
    (
        "bot.queue_empty",
        "Открытых заявок нет.",
        "Відкритих заявок немає.",
        "No open tickets.",
    ),
    (
        "bot.queue_title",
        "Открытые заявки:",
        "Відкриті заявки:",
        "Open tickets:",
    ),
    (
        "bot.reply_sent",
        "Ответ отправлен заявителю ({n}).",
        "Відповідь надіслано заявнику ({n}).",
        "Reply sent to the requester ({n}).",
    ),
    (
        "card",
        "{n} · {status}\n{category} · {priority}\nОт: {requester}\nИсполнитель: {assignee}\n\n{subject}\n{description}",
        "{n} · {status}\n{category} · {priority}\nВід: {requester}\nВиконавець: {assignee}\n\n{subject}\n{description}",
        "{n} · {status}\n{category} · {priority}\nFrom: {requester}\nAssignee: {assignee}\n\n{subject}\n{description}",
    ),
    (
        "bot.bc_compose",
        "Пришлите текст рассылки (или фото/документ с подписью). /cancel — отмена.",
        "Надішліть текст розсилки (або фото/документ з підписом). /cancel — скасувати.",
        "Send the broadcast text (or a photo/document with a caption). /cancel to stop.",
    ),
    (
        "bot.bc_preview",
        "Так увидят сообщение {n} получателей. Отправить?",
        "Так побачать повідомлення {n} отримувачів. Надіслати?",
        "This is what {n} recipients will see. Send it?",
    ),
    ("btn.bc_send", "📣 Отправить", "📣 Надіслати", "📣 Send"),
    (
        "bot.bc_queued",
        "Рассылка №{b}: {n} сообщений в очереди.",
        "Розсилка №{b}: {n} повідомлень у черзі.",
        "Broadcast #{b}: {n} messages queued.",
    ),
    (
        "bot.bc_progress",
        "Рассылка №{b}: отправлено {d} из {n}.",
        "Розсилка №{b}: надіслано {d} з {n}.",
        "Broadcast #{b}: {d} of {n} sent.",
    ),
    (
        "bot.bc_done",
        "Рассылка №{b} завершена: доставлено {d} из {n}, ошибок {f}.",
        "Розсилку №{b} завершено: доставлено {d} з {n}, помилок {f}.",
        "Broadcast #{b} finished: {d} of {n} delivered, {f} failed.",
    ),
    (
        "bot.staff_usage",
        "/staff — список\n/staff add ID роль (operator, storekeeper, admin, superadmin)\n/staff remove ID",
        "/staff — список\n/staff add ID роль (operator, storekeeper, admin, superadmin)\n/staff remove ID",
        "/staff — list\n/staff add ID role (operator, storekeeper, admin, superadmin)\n/staff remove ID",
    ),
    (
        "bot.staff_added",
        "Сотрудник {id} добавлен с ролью {role}.",
        "Співробітника {id} додано з роллю {role}.",
        "Staff member {id} added as {role}.",
    ),
    (
        "bot.staff_removed",
        "Сотрудник {id} удалён.",
        "Співробітника {id} видалено.",
        "Staff member {id} removed.",
    ),
    (
        "sla.remind_response",
        "⏰ Заявка {n} «{subject}»: первый ответ нужен до {due}.",
        "⏰ Заявка {n} «{subject}»: першу відповідь потрібно дати до {due}.",
        "⏰ Ticket {n} \"{subject}\": first response due by {due}.",
    ),
    (
        "sla.breach_response",
        "🔥 Заявка {n} «{subject}»: срок первого ответа ({due}) нарушен.",
        "🔥 Заявка {n} «{subject}»: строк першої відповіді ({due}) порушено.",
        "🔥 Ticket {n} \"{subject}\": the first-response deadline ({due}) was missed.",
    ),
    (
        "sla.remind_resolve",
        "⏰ Заявка {n} «{subject}»: решить нужно до {due}.",
        "⏰ Заявка {n} «{subject}»: вирішити потрібно до {due}.",
        "⏰ Ticket {n} \"{subject}\": resolution due by {due}.",
    ),
    (
        "sla.breach_resolve",
        "🔥 Заявка {n} «{subject}»: срок решения ({due}) нарушен.",
        "🔥 Заявка {n} «{subject}»: строк вирішення ({due}) порушено.",
        "🔥 Ticket {n} \"{subject}\": the resolution deadline ({due}) was missed.",
    ),
    (
        "alert.snapshot_failed",
        "❗ Не удалось создать архив ({kind}): {error}",
        "❗ Не вдалося створити архів ({kind}): {error}",
        "❗ The {kind} snapshot failed: {error}",
    ),
    (
        "alert.health_fail",
        "❗ Проверка «{check}» не прошла: {detail}",
        "❗ Перевірка «{check}» не пройшла: {detail}",
        "❗ Health check \"{check}\" failed: {detail}",
    ),
    (
        "alert.health_ok",
        "✅ Проверка «{check}» снова в порядке.",
        "✅ Перевірка «{check}» знову в порядку.",
        "✅ Health check \"{check}\" is fine again.",
    ),
    (
        "alert.data_dir_readonly",
        "❗ helpdesk не может писать в папку данных и работает в режиме обслуживания: {detail}. Дайте право записи (chown/перемонтирование) — сервер запустится сам.",
        "❗ helpdesk не може писати в теку даних і працює в режимі обслуговування: {detail}. Дайте право запису (chown/перемонтування) — сервер запуститься сам.",
        "❗ helpdesk cannot write its data folder and is in maintenance mode: {detail}. Give it write access (chown/remount); the server starts by itself.",
    ),
    (
        "alert.data_dir_recovered",
        "✅ Папка данных снова доступна для записи, helpdesk работает (режим обслуживания с {since}, {minutes} мин).",
        "✅ Тека даних знову доступна для запису, helpdesk працює (режим обслуговування з {since}, {minutes} хв).",
        "✅ The data folder is writable again and helpdesk runs (maintenance mode since {since}, {minutes} min).",
    ),
    (
        "alert.low_stock",
        "📉 Склад: «{name}» ({sku}) — осталось {qty}, минимум {min}.",
        "📉 Склад: «{name}» ({sku}) — залишилось {qty}, мінімум {min}.",
        "📉 Stock: \"{name}\" ({sku}) is down to {qty}, minimum {min}.",
    ),
    (
        "digest",
        "📊 Сводка на {date}\nОткрыто: {open} (новых {new}, в работе {in_progress})\nПросрочено: {overdue}\nВчера: создано {created}, решено {resolved}\nМало на складе: {low}",
        "📊 Зведення на {date}\nВідкрито: {open} (нових {new}, в роботі {in_progress})\nПрострочено: {overdue}\nУчора: створено {created}, вирішено {resolved}\nМало на складі: {low}",
        "📊 Digest for {date}\nOpen: {open} (new {new}, in progress {in_progress})\nOverdue: {overdue}\nYesterday: {created} created, {resolved} resolved\nLow stock: {low}",
    ),
    (
        "bot.digest_on",
        "Ежедневная сводка включена.",
        "Щоденне зведення увімкнено.",
        "The daily digest is on.",
    ),
    (
        "bot.digest_off",
        "Ежедневная сводка выключена.",
        "Щоденне зведення вимкнено.",
        "The daily digest is off.",
    ),
    (
        "bot.email_set",
        "Адрес {email} сохранён: уведомления о заявках будут приходить и на почту.",
        "Адресу {email} збережено: сповіщення про заявки надходитимуть і на пошту.",
        "{email} saved: ticket notifications will also come by e-mail.",
    ),
    (
        "bot.email_cleared",
        "Адрес почты удалён.",
        "Адресу пошти видалено.",
        "E-mail address removed.",
    ),
    (
        "bot.open_app",
        "Заявки и заказ картриджей — также в приложении:",
        "Заявки та замовлення картриджів — також у застосунку:",
        "Tickets and cartridge orders are also in the app:",
    ),
    (
        "btn.open_app",
        "📋 Мои заявки",
        "📋 Мої заявки",
        "📋 My tickets",
    ),
];

/// Texts in three languages, `(key, ru, uk, en)`, looked up by key through an index built on
/// first use (pages and messages look up dozens per answer).
pub struct TextTable {
    rows: &'static [(&'static str, &'static str, &'static str, &'static str)],
    index: std::sync::OnceLock<std::collections::HashMap<&'static str, usize, KeyHash>>,
}

/// FNV-1a for the text keys: short, chosen by the program (not by users), looked up dozens of
/// times per page — SipHash's flood resistance buys nothing here and showed in the profile.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type KeyHash = std::hash::BuildHasherDefault<Fnv>;

impl TextTable {
    pub const fn new(
        rows: &'static [(&'static str, &'static str, &'static str, &'static str)],
    ) -> TextTable {
        TextTable {
            rows,
            index: std::sync::OnceLock::new(),
        }
    }

    /// The text `key` in `lang`, if the table has it.
    pub fn get(&self, lang: Language, key: &str) -> Option<&'static str> {
        let index = self.index.get_or_init(|| {
            self.rows
                .iter()
                .enumerate()
                .map(|(i, (k, ..))| (*k, i))
                .collect()
        });
        index.get(key).map(|&i| {
            let (_, ru, uk, en) = self.rows[i];
            match lang {
                Language::Ru => ru,
                Language::Uk => uk,
                Language::En => en,
            }
        })
    }
}

static DEFAULTS: TextTable = TextTable::new(TEXTS);

/// The default text for `key` in `lang`, or the key itself when unknown.
pub fn default_text(lang: Language, key: &str) -> &str {
    DEFAULTS.get(lang, key).unwrap_or(key)
}

/// Every text key.
pub fn keys() -> impl Iterator<Item = &'static str> {
    TEXTS.iter().map(|(k, ..)| *k)
}

/// Fills `{name}` placeholders.
pub fn render(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for s in crate::domain::TicketStatus::ALL {
            let key = format!("status.{}", s.as_str());
            assert_ne!(default_text(Language::En, &key), key.as_str());
        }
    }

    #[test]
    fn renders_placeholders() {
        let t = default_text(Language::En, "ticket_created");
        assert_eq!(
            render(t, &[("n", "#5"), ("subject", "Printer")]),
            "Ticket #5 created: Printer. We will tell you when someone takes it."
        );
        assert_eq!(default_text(Language::Ru, "nope"), "nope");
    }
}
