package io.herd.scheduler;

import io.herd.scheduler.Expr.Attribute;
import io.herd.scheduler.Expr.Literal;
import io.herd.scheduler.Expr.Op;

import java.util.ArrayList;
import java.util.List;

/**
 * Recursive descent over
 * <pre>
 *   expr       = and { "||" and }
 *   and        = unary { "&amp;&amp;" unary }
 *   unary      = "!" unary | "(" expr ")" | comparison
 *   comparison = attribute op value
 *   op         = "==" | "!=" | "&lt;" | "&lt;=" | "&gt;" | "&gt;="
 *   value      = word | "string" | 'string'
 * </pre>
 * A word is letters, digits and {@code _ . : / + -}; a word that reads as a
 * number (optionally with a K, M, G or T suffix) is a number.
 */
final class ConstraintParser {

    private enum Type { WORD, STRING, OP, AND, OR, NOT, LPAREN, RPAREN, END }

    private record Token(Type type, String text, int start) {
    }

    private final String src;
    private int pos;
    private Token token;
    private Token previous;

    private ConstraintParser(String src) {
        this.src = src;
    }

    static Expr parse(String src) {
        if (src.isBlank()) return new Expr.Always();
        ConstraintParser p = new ConstraintParser(src);
        p.advance();
        Expr e = p.or(null);
        if (p.token.type != Type.END) {
            throw p.error(p.token, p.token.type == Type.RPAREN ? "unmatched ')'" : "expected '&&', '||' or the end" + p.after());
        }
        return e;
    }

    private Expr or(Token open) {
        List<Expr> terms = new ArrayList<>();
        terms.add(and());
        while (token.type == Type.OR) {
            advance();
            terms.add(and());
        }
        if (open != null && token.type != Type.RPAREN) {
            throw error(token, "expected '&&', '||' or ')' to close the '(' at " + (open.start + 1) + after());
        }
        return terms.size() == 1 ? terms.get(0) : new Expr.Or(terms);
    }

    private Expr and() {
        List<Expr> terms = new ArrayList<>();
        terms.add(unary());
        while (token.type == Type.AND) {
            advance();
            terms.add(unary());
        }
        return terms.size() == 1 ? terms.get(0) : new Expr.And(terms);
    }

    private Expr unary() {
        if (token.type == Type.NOT) {
            advance();
            return new Expr.Not(unary());
        }
        if (token.type == Type.LPAREN) {
            Token open = token;
            advance();
            Expr inner = or(open);
            advance(); // the ')'
            return inner;
        }
        return comparison();
    }

    private Expr comparison() {
        if (token.type != Type.WORD || !startsName(token.text)) {
            throw error(token, "expected an attribute such as mem or cores, '!' or '('" + after());
        }
        Token attribute = token;
        advance();
        if (token.type != Type.OP) {
            throw error(token, "expected an operator (==, !=, <, <=, >, >=) after '" + attribute.text + "'");
        }
        Token opToken = token;
        Op op = Op.of(opToken.text);
        String name = attribute.text;
        Attribute.Kind kind = Attribute.kind(name);
        if (op.ordering() && (kind == Attribute.Kind.TEXT || kind == Attribute.Kind.LABEL)) {
            throw error(opToken, "expected == or != after '" + name + "' (it has no order)");
        }
        advance();
        if (token.type != Type.WORD && token.type != Type.STRING) {
            throw error(token, "expected a value after '" + opToken.text + "'");
        }
        Token valueToken = token;
        Literal value = valueToken.type == Type.STRING ? Literal.string(valueToken.text) : Literal.word(valueToken.text);
        if (!value.numeric() && (kind == Attribute.Kind.NUMBER || op.ordering())) {
            String what = Attribute.isSize(name) ? "a size such as 512M or 8G" : "a number";
            throw error(valueToken, "expected " + what + " after '" + name + op.symbol + "', not '" + valueToken.text + "'");
        }
        advance();
        return new Expr.Compare(name, op, value);
    }

    private static boolean startsName(String word) {
        char c = word.charAt(0);
        return Character.isLetter(c) || c == '_';
    }

    private String after() {
        return previous == null ? "" : " after '" + previous.text + "'";
    }

    // --- lexer --------------------------------------------------------------

    private void advance() {
        previous = token;
        token = lex();
    }

    private Token lex() {
        while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) pos++;
        int start = pos;
        if (pos >= src.length()) return new Token(Type.END, "the end", start);
        char c = src.charAt(pos);
        char next = pos + 1 < src.length() ? src.charAt(pos + 1) : 0;
        switch (c) {
            case '(' -> { pos++; return new Token(Type.LPAREN, "(", start); }
            case ')' -> { pos++; return new Token(Type.RPAREN, ")", start); }
            case '&', '|' -> {
                if (next != c) throw error(start, "a single '" + c + "' is not an operator; use '" + c + c + "'");
                pos += 2;
                return new Token(c == '&' ? Type.AND : Type.OR, "" + c + c, start);
            }
            case '=' -> {
                if (next != '=') throw error(start, "a single '=' is not an operator; use '=='");
                pos += 2;
                return new Token(Type.OP, "==", start);
            }
            case '!', '<', '>' -> {
                if (next == '=') {
                    pos += 2;
                    return new Token(Type.OP, c + "=", start);
                }
                pos++;
                return c == '!' ? new Token(Type.NOT, "!", start) : new Token(Type.OP, String.valueOf(c), start);
            }
            case '"', '\'' -> {
                return string(c, start);
            }
            default -> {
                if (!wordChar(c)) throw error(start, "unexpected character '" + c + "'");
                while (pos < src.length() && wordChar(src.charAt(pos))) pos++;
                return new Token(Type.WORD, src.substring(start, pos), start);
            }
        }
    }

    private Token string(char quote, int start) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (pos < src.length()) {
            char c = src.charAt(pos++);
            if (c == quote) return new Token(Type.STRING, sb.toString(), start);
            if (c == '\\' && pos < src.length()) c = src.charAt(pos++);
            sb.append(c);
        }
        throw error(start, "unterminated string; close it with " + quote);
    }

    static boolean wordChar(char c) {
        return Character.isLetter(c) || (c >= '0' && c <= '9') || Character.isDigit(c) || "_.:/+-".indexOf(c) >= 0;
    }

    // --- errors -------------------------------------------------------------

    private IllegalArgumentException error(Token at, String problem) {
        return error(at.start, problem);
    }

    private IllegalArgumentException error(int index, String problem) {
        return new Constraint.ParseException(src, index + 1, problem);
    }
}
