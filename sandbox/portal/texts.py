"""The portal's Russian texts: labels the robot locates and messages it reads."""

PORTAL_TITLE = "Виртуальный менеджер"
SENDER_NAME = "Виртуальный менеджер МТС"

BAD_FORMAT = "Вы ввели телефон в неверном формате"
WRONG_PASSWORD = "Неверный пароль"
CAPTCHA = "Введите символы, которые вы видите на картинке"
LOCKED = "Учетная запись заблокирована в связи с превышением попыток ввода пароля"

OUTAGE = "Получение запрошенной информации в данный момент недоступно"
SESSION_EXPIRED = "Сеанс завершён. Войдите снова"
BAD_REQUEST = "Неверный запрос"
ACCOUNT_NOT_FOUND = "Лицевой счёт не найден"
NUMBER_NOT_FOUND = "Абонентский номер не найден"

SELECTION = "Текущая выборка"
ONE_CONTRACT_ONE_TYPE = "один контракт, однотиповая"
ONE_CONTRACT_SEVERAL_TYPES = "один контракт, разнотиповая"
SEVERAL_CONTRACTS = "несколько контрактов"
NUMBERS_CHOSEN = "Выбрано {count} {noun}"
NUMBER_FORMS = ("номер", "номера", "номеров")
"""The noun after 1, after 2–4 and after 5 or more (also 11–14)."""
SELECTION_EMPTY = "Выборка пуста: перенесите лицевой счёт или номера в текущую выборку"
CHOOSE_ONE_CONTRACT = "Выберите номера одного контракта"
CHOOSE_ONE_TYPE = "Выберите номера одного типа"

INVOICE_DOCUMENT = "Сформированные счета закрытых расчётных периодов"
CALL_DETAILS_DOCUMENT = "Детализация разговоров"
UNKNOWN_DOCUMENT = "Неизвестный документ"
PERIOD_INVALID = "Укажите период в формате ГГГГ-ММ"
PERIOD_NOT_CLOSED = "Расчётный период не закрыт: счёт будет сформирован после его окончания"
PERIOD_TOO_OLD = "Период недоступен: заказ возможен за последние закрытые периоды ({months} мес.)"
DATE_INVALID = "Укажите даты периода в формате ГГГГ-ММ-ДД"
PERIOD_REVERSED = "Дата начала периода позже даты окончания"
PERIOD_NOT_FINISHED = "Период не завершён: детализация доступна по вчерашний день включительно"
DETAILS_TOO_OLD = "Период недоступен: детализация хранится за последние {days} дн."
RULES_NOT_ACCEPTED = "Примите правила использования системы"
EMAIL_INVALID = "Укажите корректный адрес электронной почты"
FORMAT_INVALID = "Формат недоступен для этого документа"
DOCUMENT_KIND = "Документ: «{document}»"
SIZE_WARNING = "Из-за большого размера файла, некоторые почтовые серверы могут отказать в получении данного письма."
ACCEPT_RULES = "Я принимаю правила использования системы"
REMOVE = "Удалить"
ORDER_ACCEPTED = "Заказ № {order_id} принят. Документ будет отправлен на {email}"
ORDER_ACTION = "Заказ документа «{document}»"
ORDER_SUBJECT = "Заказ № {order_id}: {document}"

MONTHS = (
    "Январь", "Февраль", "Март", "Апрель", "Май", "Июнь",
    "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь",
)

TREE_FILTER = "Номер или лицевой счёт"
TREE_FILTER_BUTTON = "Фильтр"
TREE_FILTER_RESET = "Сбросить фильтр"
TREE_NOTHING_FOUND = "Ничего не найдено"
TREE_PAGES = "Страницы списка лицевых счетов"
PREVIOUS_PAGE = "Предыдущая страница"
NEXT_PAGE = "Следующая страница"
PAGE_OF = "Страница {page} из {pages}"
CONTINUED = "(продолжение)"
