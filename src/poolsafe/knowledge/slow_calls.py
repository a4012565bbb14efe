"""Slow work that must not run while a connection is held (PS207), as data.

Each family names what is slow in words the message uses ("an LLM call"), and how
a call is recognised:

- `functions`: module-level functions, as (import root, qualified tail), matched
  on the resolved import (`litellm.completion`, `subprocess.run`);
- `clients`: instances of these classes, (import root, class) -> the method paths
  that are slow, dotted from the instance (`chat.completions.create` on an
  `openai.OpenAI()`; an empty set when only the family's prefixes are slow);
- `factories`: functions that return such a client (`boto3.client("s3")`), with
  the same method paths;
- `prefixes`: method name prefixes that are slow on anything reached from a
  client or factory of the family (`upload_from_` on google-cloud-storage blobs).

A client whose method paths hold `ANY_METHOD` is slow in every method: a remote
procedure call proxy (`xmlrpc.client.ServerProxy`), whose methods the server defines.

A call is slow only when its receiver resolves to one of these (through imports,
assignments, `self.` attributes and annotated parameters), never by its method
name alone: a project function called `search` is not OpenSearch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Pair = tuple[str, str]


@dataclass(frozen=True)
class SlowFamily:
    what: str
    functions: frozenset[Pair] = frozenset()
    clients: dict[Pair, frozenset[str]] = field(default_factory=dict)
    factories: dict[Pair, frozenset[str]] = field(default_factory=dict)
    prefixes: frozenset[str] = frozenset()
    #: sends through Django's `EMAIL_BACKEND`: not slow in a project whose settings
    #: name only a backend that queues the message in the database
    #: (`knowledge.django.DJANGO_DB_QUEUE_EMAIL_BACKENDS`), unless the call is given
    #: its own `connection=`
    django_email_backend: bool = False


_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options",
                         "request", "send", "stream"})
_OPENAI = frozenset({"chat.completions.create", "completions.create", "responses.create",
                     "embeddings.create", "images.generate", "audio.transcriptions.create",
                     "audio.speech.create", "moderations.create", "beta.chat.completions.parse",
                     "chat.completions.parse"})
_CHAT_MODEL = frozenset({"invoke", "ainvoke", "stream", "astream", "batch", "abatch",
                         "predict", "apredict", "generate", "agenerate"})
#: a LangChain embeddings model (`OpenAIEmbeddings().embed_documents(texts)`): each call
#: is a request to the provider's embeddings API (Ollama's to its server)
_EMBEDDINGS = frozenset({"embed_documents", "embed_query", "aembed_documents",
                         "aembed_query"})
_S3 = frozenset({"upload_file", "upload_fileobj", "download_file", "download_fileobj",
                 "put_object", "get_object", "copy_object", "copy", "delete_object",
                 "delete_objects", "list_objects_v2", "head_object",
                 "generate_presigned_post"})
_SEARCH = frozenset({"search", "index", "bulk", "msearch", "count", "scroll",
                     "update_by_query", "delete_by_query", "get", "mget", "create",
                     "update", "delete"})
_VECTOR = frozenset({"search", "query_points", "upsert", "upload_points", "upload_collection",
                     "scroll", "recommend", "query", "delete", "retrieve"})

_TWILIO = frozenset({"messages.create", "messages.list", "calls.create", "calls.list",
                     "sms.messages.create", "recordings.list", "calls.update"})

_SFTP = frozenset({"get", "put", "getfo", "putfo", "listdir", "listdir_attr", "stat"})

#: Telegram's Bot API: every method of a bot, and every reply a received message,
#: callback query or inline query offers, is an HTTPS round trip to
#: api.telegram.org (aiogram, python-telegram-bot, pyTelegramBotAPI)
_TG_SENDS = ("message", "photo", "document", "video", "audio", "voice", "sticker",
             "animation", "media_group", "location", "contact", "poll", "dice", "invoice",
             "chat_action", "video_note")
_TG_BOT = frozenset(
    {f"send_{what}" for what in _TG_SENDS}
    | {"edit_message_text", "edit_message_caption", "edit_message_reply_markup",
       "edit_message_media", "delete_message", "delete_messages", "forward_message",
       "copy_message", "answer_callback_query", "answer_inline_query", "get_file",
       "download_file", "download", "get_chat", "get_chat_member", "ban_chat_member",
       "pin_chat_message", "set_my_commands", "reply_to"})
#: the same Bot API methods under their camelCase names: telepot's `Bot` (sync, and
#: `telepot.aio.Bot`) has only these (`bot.sendMessage(chat_id, text)`), and
#: python-telegram-bot before v20 also kept them as aliases
_TG_BOT_CAMEL = frozenset(
    "".join([head, *(part.title() for part in rest)])
    for head, *rest in (name.split("_") for name in _TG_BOT)) | frozenset({"download_file"})
_TG_MESSAGE = frozenset(
    {"answer", "reply", "edit_text", "edit_caption", "edit_reply_markup", "delete",
     "forward", "copy_to", "send_copy", "pin", "unpin", "reply_text", "reply_html",
     "reply_markdown", "reply_markdown_v2"}
    | {f"answer_{what}" for what in _TG_SENDS} | {f"reply_{what}" for what in _TG_SENDS})
_TG_CALLBACK = frozenset({"answer", "edit_message_text", "edit_message_reply_markup",
                          "edit_message_caption", "delete_message",
                          *(f"message.{m}" for m in _TG_MESSAGE)})
#: python-telegram-bot's callback context (`context: CallbackContext`, or
#: `ContextTypes.DEFAULT_TYPE`): `context.bot` is the application's `telegram.Bot`
_TG_CONTEXT = frozenset(f"bot.{m}" for m in _TG_BOT)
_TG_UPDATE = frozenset(f"{via}.{m}" for via in ("message", "effective_message")
                       for m in _TG_MESSAGE) | frozenset(
    f"callback_query.{m}" for m in _TG_CALLBACK) | frozenset(
    f"inline_query.{m}" for m in ("answer",))

#: Stripe: every API method of a resource (`stripe.Customer.create(...)`) or of a
#: `StripeClient` service (`client.customers.create(...)`, `client.v1.customers...`)
#: is an HTTPS round trip to api.stripe.com (seconds under load, with retries)
_STRIPE_METHODS = ("create", "retrieve", "modify", "update", "delete", "list", "search",
                   "cancel", "confirm", "capture", "attach", "detach", "pay",
                   "finalize_invoice", "void_invoice", "send_invoice", "resume",
                   "list_line_items", "create_login_link")
_STRIPE_RESOURCES = ("Account", "AccountLink", "Customer", "PaymentIntent", "PaymentMethod",
                     "SetupIntent", "Charge", "Refund", "Subscription", "SubscriptionItem",
                     "Invoice", "InvoiceItem", "Price", "Product", "Transfer", "Payout",
                     "Coupon", "PromotionCode", "Balance", "Event", "File", "TaxRate",
                     "checkout.Session", "billing_portal.Session")
_STRIPE_SERVICES = ("accounts", "account_links", "customers", "payment_intents",
                    "payment_methods", "setup_intents", "charges", "refunds", "subscriptions",
                    "subscription_items", "invoices", "invoice_items", "prices", "products",
                    "transfers", "payouts", "coupons", "promotion_codes", "balance", "events",
                    "files", "tax_rates", "checkout.sessions", "billing_portal.sessions")
_STRIPE_CLIENT = frozenset(
    f"{v}{service}.{method}{suffix}" for v in ("", "v1.") for service in _STRIPE_SERVICES
    for method in _STRIPE_METHODS for suffix in ("", "_async"))

#: Razorpay (`razorpay.Client(auth=(key, secret))`): each resource method
#: (`client.order.create(...)`, `client.payment.capture(...)`) is an HTTPS round trip
#: to api.razorpay.com
_RAZORPAY = frozenset(
    f"{resource}.{method}"
    for resource in ("order", "payment", "refund", "customer", "subscription", "invoice",
                     "payment_link", "plan", "settlement", "transfer", "virtual_account",
                     "qrcode", "item", "addon", "card", "token")
    for method in ("create", "fetch", "all", "fetch_all", "capture", "refund", "edit",
                   "cancel", "payments", "transfer", "transfers", "delete", "notify_by"))
#: Braintree: a `BraintreeGateway`'s resource gateways (`gateway.transaction.sale(...)`)
#: and the class API configured globally (`braintree.Transaction.sale(...)`) post to
#: the Braintree gateway
_BRAINTREE_CALLS: dict[str, tuple[str, ...]] = {
    "transaction": ("sale", "find", "refund", "void", "submit_for_settlement", "search",
                    "credit", "clone_transaction", "cancel_release", "hold_in_escrow",
                    "release_from_escrow"),
    "customer": ("create", "find", "update", "delete", "search"),
    "payment_method": ("create", "find", "update", "delete"),
    "credit_card": ("create", "find", "update", "delete"),
    "subscription": ("create", "find", "update", "cancel", "retry_charge", "search"),
    "client_token": ("generate",),
}
_BRAINTREE_GATEWAY = frozenset(
    f"{resource}.{method}" for resource, methods in _BRAINTREE_CALLS.items()
    for method in methods)
_BRAINTREE_CLASSES = {"transaction": "Transaction", "customer": "Customer",
                      "payment_method": "PaymentMethod", "credit_card": "CreditCard",
                      "subscription": "Subscription", "client_token": "ClientToken"}
#: PayPal's REST SDK (`paypalrestsdk`): building a `Payment({...})` is local; its
#: `create()` / `execute(...)` and the class's `Payment.find(id)` are requests to PayPal
_PAYPAL_RESOURCES = ("Payment", "Sale", "Refund", "Authorization", "Capture", "Order",
                     "Payout", "BillingPlan", "BillingAgreement", "Invoice", "WebProfile")
_PAYPAL_INSTANCE = frozenset({"create", "execute", "update", "delete", "refund", "capture",
                              "void", "authorize", "reauthorize", "activate", "cancel",
                              "send", "remind", "replace"})
#: Mollie (`mollie.api.client.Client`): its resource endpoints
#: (`client.payments.create(...)`) are requests to api.mollie.com
_MOLLIE = frozenset(
    f"{resource}.{method}"
    for resource in ("payments", "orders", "customers", "refunds", "subscriptions",
                     "mandates", "payment_links", "methods", "chargebacks", "captures",
                     "shipments", "settlements")
    for method in ("create", "get", "list", "update", "delete", "all"))
#: Square's SDK (`square.Square`, `square.AsyncSquare`, squareup >= 42): its services
#: (`client.payments.create(...)`) are requests to Square's API
_SQUARE = frozenset(
    f"{service}.{method}"
    for service in ("payments", "refunds", "customers", "orders", "invoices", "catalog",
                    "checkout.payment_links", "locations", "subscriptions", "cards",
                    "inventory", "gift_cards", "loyalty")
    for method in ("create", "get", "list", "update", "delete", "cancel", "complete",
                   "search", "refund_payment", "pay", "publish", "upsert", "batch_upsert",
                   "batch_get"))
#: Slack's Web API client (`slack_sdk.WebClient`): each method is an HTTPS request to
#: slack.com/api
_SLACK = frozenset({
    "chat_postMessage", "chat_postEphemeral", "chat_update", "chat_delete",
    "chat_scheduleMessage", "chat_getPermalink", "files_upload", "files_upload_v2",
    "files_info", "files_list", "files_delete", "conversations_history",
    "conversations_list", "conversations_info", "conversations_members",
    "conversations_open", "conversations_create", "conversations_invite",
    "conversations_join", "conversations_replies", "users_info", "users_list",
    "users_lookupByEmail", "reactions_add", "reactions_remove", "views_open",
    "views_publish", "views_update", "views_push", "auth_test", "api_call"})

#: a client every method of which is slow (the server names them: `proxy.getBuild(7)`)
ANY_METHOD = "*"
#: the import roots of such clients: a project that spells none has no call to read
#: by its receiver alone
ANY_METHOD_ROOTS: frozenset[str] = frozenset({"xmlrpc", "xmlrpclib", "koji"})

SLOW_FAMILIES: tuple[SlowFamily, ...] = (
    SlowFamily(
        "an HTTP request",
        functions=frozenset(
            {(root, m) for root in ("requests", "httpx")
             for m in ("get", "post", "put", "patch", "delete", "head", "options", "request",
                       "stream")}
            | {("urllib.request", "urlopen"), ("urllib.request", "urlretrieve"),
               ("urllib3", "request"),
               # Python 2's spellings, still in older Django applications
               ("urllib", "urlopen"), ("urllib", "urlretrieve"), ("urllib2", "urlopen")}),
        clients={("requests", "Session"): _HTTP_VERBS,
                 ("httpx", "Client"): _HTTP_VERBS, ("httpx", "AsyncClient"): _HTTP_VERBS,
                 ("aiohttp", "ClientSession"): _HTTP_VERBS | {"ws_connect"},
                 ("urllib3", "PoolManager"): frozenset({"request", "urlopen"})},
    ),
    SlowFamily(
        "an LLM call",
        functions=frozenset({("litellm", "completion"), ("litellm", "acompletion"),
                             ("litellm", "embedding"), ("litellm", "aembedding"),
                             ("openai", "ChatCompletion.create"), ("openai", "Completion.create"),
                             ("openai", "Embedding.create")}),
        clients={("openai", "OpenAI"): _OPENAI, ("openai", "AsyncOpenAI"): _OPENAI,
                 ("openai", "AzureOpenAI"): _OPENAI, ("openai", "AsyncAzureOpenAI"): _OPENAI,
                 ("anthropic", "Anthropic"): frozenset(
                     {"messages.create", "messages.stream", "completions.create"}),
                 ("anthropic", "AsyncAnthropic"): frozenset(
                     {"messages.create", "messages.stream", "completions.create"}),
                 ("google.genai", "Client"): frozenset(
                     {"models.generate_content", "models.generate_content_stream",
                      "models.embed_content", "aio.models.generate_content"}),
                 ("google.generativeai", "GenerativeModel"): frozenset(
                     {"generate_content", "generate_content_async"}),
                 ("cohere", "Client"): frozenset({"chat", "generate", "embed", "rerank"}),
                 ("cohere", "ClientV2"): frozenset({"chat", "generate", "embed", "rerank"}),
                 ("cohere", "AsyncClient"): frozenset({"chat", "generate", "embed", "rerank"}),
                 ("langchain_openai", "ChatOpenAI"): _CHAT_MODEL,
                 ("langchain_openai", "AzureChatOpenAI"): _CHAT_MODEL,
                 ("langchain_anthropic", "ChatAnthropic"): _CHAT_MODEL,
                 ("langchain_google_genai", "ChatGoogleGenerativeAI"): _CHAT_MODEL,
                 ("langchain_community.chat_models", "ChatOllama"): _CHAT_MODEL,
                 ("langchain_ollama", "ChatOllama"): _CHAT_MODEL,
                 **{(module, cls): _EMBEDDINGS for module, cls in (
                     ("langchain_openai", "OpenAIEmbeddings"),
                     ("langchain_openai", "AzureOpenAIEmbeddings"),
                     ("langchain_openai.embeddings", "OpenAIEmbeddings"),
                     ("langchain_community.embeddings", "OpenAIEmbeddings"),
                     ("langchain_community.embeddings", "AzureOpenAIEmbeddings"),
                     ("langchain_community.embeddings", "OllamaEmbeddings"),
                     ("langchain_community.embeddings", "CohereEmbeddings"),
                     ("langchain_community.embeddings", "BedrockEmbeddings"),
                     ("langchain.embeddings", "OpenAIEmbeddings"),
                     ("langchain.embeddings.openai", "OpenAIEmbeddings"),
                     ("langchain_google_genai", "GoogleGenerativeAIEmbeddings"),
                     ("langchain_cohere", "CohereEmbeddings"),
                     ("langchain_mistralai", "MistralAIEmbeddings"),
                     ("langchain_voyageai", "VoyageAIEmbeddings"),
                     ("langchain_aws", "BedrockEmbeddings"),
                     ("langchain_ollama", "OllamaEmbeddings"))}},
        factories={("langchain.chat_models", "init_chat_model"): _CHAT_MODEL,
                   ("langchain.embeddings", "init_embeddings"): _EMBEDDINGS},
    ),
    SlowFamily(
        "an object-storage transfer",
        clients={("minio", "Minio"): frozenset({"put_object", "fput_object", "get_object",
                                                "fget_object", "copy_object",
                                                "remove_objects"}),
                 ("google.cloud.storage", "Client"): frozenset(),
                 ("azure.storage.blob", "BlobServiceClient"): frozenset(),
                 ("azure.storage.blob.aio", "BlobServiceClient"): frozenset(),
                 ("azure.storage.blob", "ContainerClient"): frozenset(),
                 ("azure.storage.blob.aio", "ContainerClient"): frozenset(),
                 ("azure.storage.blob", "BlobClient"): frozenset(),
                 ("azure.storage.blob.aio", "BlobClient"): frozenset()},
        factories={("boto3", "client"): _S3, ("boto3", "resource"): frozenset(),
                   ("boto3", "Session.client"): _S3, ("aioboto3", "Session.client"): _S3,
                   ("azure.storage.blob", "BlobServiceClient.from_connection_string"):
                       frozenset(),
                   ("azure.storage.blob.aio", "BlobServiceClient.from_connection_string"):
                       frozenset()},
        prefixes=frozenset({"upload_from_", "download_to_", "download_as_", "upload_file",
                            "upload_fileobj", "download_file", "download_fileobj",
                            "upload_blob", "download_blob", "delete_blob"}),
    ),
    SlowFamily(
        "a search-engine request",
        functions=frozenset({("opensearchpy.helpers", "bulk"), ("elasticsearch.helpers", "bulk"),
                             ("opensearchpy.helpers", "scan"),
                             ("elasticsearch.helpers", "scan")}),
        clients={("opensearchpy", "OpenSearch"): _SEARCH,
                 ("opensearchpy", "AsyncOpenSearch"): _SEARCH,
                 ("elasticsearch", "Elasticsearch"): _SEARCH,
                 ("elasticsearch", "AsyncElasticsearch"): _SEARCH,
                 ("qdrant_client", "QdrantClient"): _VECTOR,
                 ("qdrant_client", "AsyncQdrantClient"): _VECTOR,
                 ("pinecone", "Pinecone"): frozenset()},
        factories={("weaviate", "connect_to_local"): frozenset(),
                   ("weaviate", "connect_to_weaviate_cloud"): frozenset()},
        prefixes=frozenset({"query", "upsert", "near_text", "near_vector", "bm25", "hybrid",
                            "fetch_objects", "insert", "insert_many"}),
    ),
    SlowFamily(
        "a payment API request",
        functions=frozenset(
            ("stripe", f"{resource}.{method}{suffix}") for resource in _STRIPE_RESOURCES
             for method in _STRIPE_METHODS for suffix in ("", "_async")),
        clients={("stripe", "StripeClient"): _STRIPE_CLIENT},
    ),
    SlowFamily(
        "a payment API request",
        functions=frozenset(
            {("braintree", f"{cls}.{method}") for resource, cls in _BRAINTREE_CLASSES.items()
             for method in _BRAINTREE_CALLS[resource]}
            | {("paypalrestsdk", f"{resource}.{method}") for resource in _PAYPAL_RESOURCES
               for method in ("find", "all")}),
        clients={("razorpay", "Client"): _RAZORPAY,
                 ("braintree", "BraintreeGateway"): _BRAINTREE_GATEWAY,
                 **{("paypalrestsdk", resource): _PAYPAL_INSTANCE
                    for resource in _PAYPAL_RESOURCES},
                 ("mollie.api.client", "Client"): _MOLLIE,
                 ("square", "Square"): _SQUARE, ("square", "AsyncSquare"): _SQUARE},
    ),
    SlowFamily(
        "an SMS or voice API request",
        # Twilio's REST client (`Client`, `TwilioRestClient` before twilio 6): each
        # create or list is an HTTPS round trip to api.twilio.com
        clients={("twilio.rest", "Client"): _TWILIO, ("twilio.rest", "TwilioRestClient"): _TWILIO},
    ),
    SlowFamily(
        "a chat-bot API request",
        clients={("aiogram", "Bot"): _TG_BOT, ("aiogram.client.bot", "Bot"): _TG_BOT,
                 ("aiogram.types", "Message"): _TG_MESSAGE,
                 ("aiogram.types", "CallbackQuery"): _TG_CALLBACK,
                 ("aiogram.types", "InlineQuery"): frozenset({"answer"}),
                 ("telegram", "Bot"): _TG_BOT | _TG_BOT_CAMEL,
                 ("telegram", "Message"): _TG_MESSAGE,
                 ("telegram", "CallbackQuery"): _TG_CALLBACK, ("telegram", "Update"): _TG_UPDATE,
                 ("telegram", "ext.CallbackContext"): _TG_CONTEXT,
                 ("telegram", "ext.ContextTypes.DEFAULT_TYPE"): _TG_CONTEXT,
                 ("telebot", "TeleBot"): _TG_BOT,
                 ("telepot", "Bot"): _TG_BOT_CAMEL, ("telepot.aio", "Bot"): _TG_BOT_CAMEL,
                 ("telebot.async_telebot", "AsyncTeleBot"): _TG_BOT,
                 ("slack_sdk", "WebClient"): _SLACK, ("slack_sdk.web", "WebClient"): _SLACK,
                 ("slack_sdk.web.client", "WebClient"): _SLACK,
                 ("slack_sdk.web.async_client", "AsyncWebClient"): _SLACK},
    ),
    SlowFamily(
        "a remote procedure call",
        # XML-RPC: every method of a `ServerProxy` is an HTTP round trip to the server
        # (Python 2's `xmlrpclib`); Koji's `ClientSession` is an XML-RPC client of the
        # build system's hub (`session.getBuild(...)`, `session.build(...)`)
        clients={("xmlrpc.client", "ServerProxy"): frozenset({ANY_METHOD}),
                 ("xmlrpclib", "ServerProxy"): frozenset({ANY_METHOD}),
                 ("koji", "ClientSession"): frozenset({ANY_METHOD})},
    ),
    SlowFamily(
        "a wait for a task result",
        clients={("celery.result", "AsyncResult"): frozenset({"get", "wait"})},
    ),
    SlowFamily(
        "a subprocess",
        functions=frozenset({("subprocess", "run"), ("subprocess", "check_output"),
                             ("subprocess", "check_call"), ("subprocess", "call"),
                             ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
                             ("os", "system"), ("ffmpeg", "run")}),
        clients={("yt_dlp", "YoutubeDL"): frozenset({"download", "extract_info"}),
                 ("youtube_dl", "YoutubeDL"): frozenset({"download", "extract_info"})},
        prefixes=frozenset(),
    ),
    SlowFamily(
        "a file transfer",
        clients={("paramiko", "Transport"): frozenset({"connect"}),
                 ("paramiko", "SSHClient"): frozenset({"connect", "exec_command"}),
                 ("paramiko", "SFTPClient"): _SFTP,
                 ("ftplib", "FTP"): frozenset({"login", "retrbinary", "storbinary", "nlst",
                                               "retrlines", "storlines"})},
        factories={("paramiko", "SFTPClient.from_transport"): _SFTP},
    ),
    SlowFamily(
        "an email send",
        clients={("smtplib", "SMTP"): frozenset({"sendmail", "send_message", "login"}),
                 ("smtplib", "SMTP_SSL"): frozenset({"sendmail", "send_message", "login"})},
    ),
    SlowFamily(
        "an email send",
        # Django's mail API sends through `EMAIL_BACKEND`, SMTP by default: a
        # connection to the mail server and a round trip per message
        functions=frozenset({("django.core.mail", "send_mail"),
                             ("django.core.mail", "send_mass_mail"),
                             ("django.core.mail", "mail_admins"),
                             ("django.core.mail", "mail_managers"),
                             # wrappers that render a template, then send through
                             # Django's mail (django-email-from-template,
                             # django-templated-email)
                             ("email_from_template", "send_mail"),
                             ("templated_email", "send_templated_mail")}),
        clients={("django.core.mail", "EmailMessage"): frozenset({"send"}),
                 ("django.core.mail", "EmailMultiAlternatives"): frozenset({"send"})},
        django_email_backend=True,
    ),
    SlowFamily(
        "an email send",
        # SendGrid's API client: `send(message)` posts the message to its mail API
        # (`client.mail.send.post(...)`, the fluent form); building a `Mail` is local
        clients={("sendgrid", "SendGridAPIClient"): frozenset({"send", "client.mail.send.post"}),
                 ("sendgrid", "SendGridClient"): frozenset({"send"})},
    ),
)

#: `time.sleep(n)` / `asyncio.sleep(n)`: slow from this many seconds (a constant), or
#: whatever the argument when it is not a constant (`time.sleep` only)
SLEEP_FUNCTIONS: frozenset[Pair] = frozenset({("time", "sleep"), ("asyncio", "sleep")})
SLOW_SLEEP_SECONDS = 1.0

#: `task.delay(...).get()`: waiting on a celery result right away
CELERY_SUBMIT_METHODS = frozenset({"delay", "apply_async"})
CELERY_WAIT_METHODS = frozenset({"get", "wait"})

#: Blocking work handed to a thread (`await loop.run_in_executor(None, resize, path)`,
#: `await asyncio.to_thread(render, doc)`): it is offloaded because it takes long (an
#: image resize, a file read, a blocking client), and the awaiting coroutine waits for
#: it with the transaction open. The callable's position among the arguments; a
#: callable that is a method of a connection, session or pool is database work, not
#: slow work.
OFFLOAD_FUNCTIONS: dict[Pair, int] = {
    ("asyncio", "to_thread"): 0,
    ("anyio.to_thread", "run_sync"): 0,
    ("starlette.concurrency", "run_in_threadpool"): 0,
    ("fastapi.concurrency", "run_in_threadpool"): 0,
}
#: the event loop's own method (asyncio's and uvloop's loops): its name is the API
OFFLOAD_METHODS: dict[str, int] = {"run_in_executor": 1}
OFFLOAD_WHAT = "blocking work handed to a thread"
#: `executor.submit(fetch, url).result()` (`concurrent.futures`): the wait for work
#: handed to a pool's thread, through a name bound to the submission too (`future =
#: executor.submit(...)` ... `future.result()`); judged as `OFFLOAD_METHODS` are (the
#: callable's position; one that only computes, or a connection's method, is no slow
#: work)
FUTURE_SUBMIT_METHODS: dict[str, int] = {"submit": 0}
FUTURE_WAIT_METHODS = frozenset({"result"})
FUTURE_WAIT_WHAT = "a wait for blocking work handed to a thread"
#: `concurrent.futures.wait(futures)` / `as_completed(futures)`: the wait for a set of
#: such submissions (a list, set or dict of them, built by a comprehension or by
#: `futures.append(executor.submit(...))`); judged as `FUTURE_SUBMIT_METHODS` are, by
#: the callables handed to the pool. The position of the futures argument.
FUTURE_WAIT_FUNCTIONS: dict[Pair, int] = {
    ("concurrent.futures", "wait"): 0,
    ("concurrent.futures", "as_completed"): 0,
}

#: A project function handed to a thread that only computes (parses, renders a
#: template from a string, hashes, evaluates an expression tree) waits on nothing
#: outside the process: moved off the event loop because it is CPU work, it holds
#: the transaction no longer than running it inline would. What its body (and the
#: project functions it calls, this many calls deep) may call to count as such:
OFFLOAD_PURE_DEPTH = 3
#: library modules whose functions and objects do no I/O
PURE_MODULES: frozenset[str] = frozenset({
    "json", "re", "math", "cmath", "hashlib", "hmac", "itertools", "functools",
    "collections", "copy", "dataclasses", "datetime", "decimal", "fractions", "uuid",
    "base64", "binascii", "string", "textwrap", "operator", "enum", "typing", "statistics",
    "heapq", "bisect", "zlib", "difflib", "unicodedata", "sqlglot", "sqlparse", "pydantic",
})
#: builtins that read, write or wait (the others compute)
IMPURE_BUILTINS: frozenset[str] = frozenset({"open", "input", "exec", "eval", "__import__",
                                             "breakpoint"})
#: method names that read, write or wait on whatever object they are called on: a
#: call of one on a receiver the analysis cannot name is taken as I/O
IO_METHOD_NAMES: frozenset[str] = frozenset({
    "read", "readline", "readlines", "write", "writelines", "send", "sendall", "recv",
    "request", "urlopen", "fetch", "fetchone", "fetchall", "fetchmany", "execute",
    "executemany", "query", "commit", "rollback", "connect", "upload", "download",
    "post", "put", "patch", "delete", "sleep", "wait", "join", "result", "run", "call",
    "invoke", "open", "save", "load", "flush", "communicate", "acquire", "get_object",
    "put_object", "read_text", "write_text", "read_bytes", "write_bytes", "mkdir",
    "unlink", "rename", "replace_file", "scalar", "scalars", "refresh", "publish",
    "subscribe", "listen", "poll", "select", "stat", "exists", "iterdir", "glob"})

